"""Update templates: saved wording for common updates, offered by the console's composer.
"""

from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import (
    UpdateTemplate,
)
from ...text import text_problem
from ..audit import Actor, record
from .lifecycle import INCIDENT_FLOW, IncidentError, check_text

# A template may move an incident or a maintenance (Statuspage's templates serve both).
TEMPLATE_STATUSES = INCIDENT_FLOW + ("scheduled", "in_progress", "verifying", "completed")


def save_template(*, name: str, body: str, status: str | None = None, title: str | None = None,
                  actor: Actor, template: UpdateTemplate | None = None, commit: bool = True) -> UpdateTemplate:
    """Create (or edit, when `template` is given) a reusable update text.

    Commits unless ``commit`` is False (the Statuspage import joins its own transaction).
    """
    if not name or not name.strip() or len(name) > 200:
        raise IncidentError("name is required (at most 200 characters)", "name")
    for field, value in (("name", name), ("title", title)):
        problem = text_problem(value) if value else None
        if problem:
            raise IncidentError(f"{field} {problem}", field)
    if status not in (None, "", *TEMPLATE_STATUSES):
        raise IncidentError(f"status must be one of {', '.join(TEMPLATE_STATUSES)}", "status")
    if title is not None and len(title) > 300:
        raise IncidentError("title is at most 300 characters", "title")
    check_text(None, body)
    clash = db.session.scalar(select(UpdateTemplate).where(UpdateTemplate.name == name.strip()))
    if clash is not None and clash is not template:
        raise IncidentError("a template with this name exists", "name")
    before = None
    if template is None:
        template = UpdateTemplate(name=name.strip())
        db.session.add(template)
    else:
        before = {"name": template.name, "status": template.status, "body": template.body}
    template.name, template.status, template.title, template.body = name.strip(), status or None, title, body
    db.session.flush()
    record(actor, "template.save", "update_template", template.id, before=before,
           after={"name": template.name, "status": template.status, "body": template.body})
    if commit:
        db.session.commit()
    return template


def delete_template(template: UpdateTemplate, *, actor: Actor) -> None:
    """Remove an update template."""
    record(actor, "template.delete", "update_template", template.id, before={"name": template.name})
    db.session.delete(template)
    db.session.commit()


def list_templates() -> list[UpdateTemplate]:
    """All templates by name."""
    return list(db.session.scalars(select(UpdateTemplate).order_by(UpdateTemplate.name)))
