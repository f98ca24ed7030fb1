"""``/pages/{page_id}/incident_templates``: list and create, through services.incidents' templates.

Statuspage's templates also carry components, a template group and notification/tweet defaults; ours
are a name, a title, a body and a status, so those fields are accepted and not kept.
"""

from __future__ import annotations

from sqlalchemy import select

from ...models import UpdateTemplate
from ...services.incidents import lifecycle as incident_svc
from ...services.incidents import templates as templates_svc
from ..authz import current_actor
from .core import StatuspageError, created, paged, route
from .forms import Fields, request_body
from .serializers import template_json


@route("/pages/<spid:page_id>/incident_templates", query=("page", "per_page"))
def templates_list():
    return paged(select(UpdateTemplate).order_by(UpdateTemplate.name, UpdateTemplate.id), template_json)


@route("/pages/<spid:page_id>/incident_templates", methods=("POST",), scope="write")
def template_create():
    f = Fields.envelope(request_body(), "template", known=("name", "title", "body", "update_status"),
                        ignored=("group_id", "should_tweet", "should_send_notifications", "component_ids"))
    status = f.text("update_status", max_len=20) or None
    if status is not None and status not in templates_svc.TEMPLATE_STATUSES:
        raise StatuspageError(422, f"template[update_status] must be one of "
                                   f"{', '.join(templates_svc.TEMPLATE_STATUSES)}")
    template = templates_svc.save_template(
        name=f.text("name", max_len=200, required=True) or "", title=f.text("title", max_len=300, required=True),
        body=f.text("body", max_len=incident_svc.MAX_BODY, required=True) or "", status=status,
        actor=current_actor())
    return created(template_json(template))
