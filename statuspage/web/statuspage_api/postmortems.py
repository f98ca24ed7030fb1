"""``/incidents/{incident_id}/postmortem``: Statuspage's postmortem is one markdown text.

Ours has sections: a text written here becomes the summary section (public) and replaces the others;
a postmortem written in the console reads as its public sections under headings. Publishing and
reverting go through services.postmortems (publishing may notify subscribers, as Statuspage's does).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from ...services.incidents import postmortems as pm_svc
from ..authz import current_actor
from .core import StatuspageError, route
from .forms import Fields, request_body
from .incidents import find_incident
from .serializers import postmortem_json

MAX_BODY = pm_svc.MAX_SECTION


def _postmortem(incident_id: str):
    inc = find_incident(incident_id)
    if inc.postmortem is None:
        raise StatuspageError(404, f"incident {incident_id!r} has no postmortem")
    return inc, inc.postmortem


@route("/pages/<spid:page_id>/incidents/<spid:incident_id>/postmortem")
def postmortem_get(incident_id: str):
    return jsonify(postmortem_json(_postmortem(incident_id)[1]))


@route("/pages/<spid:page_id>/incidents/<spid:incident_id>/postmortem", methods=("PUT",), scope="write")
def postmortem_put(incident_id: str):
    inc = find_incident(incident_id)
    f = Fields.envelope(request_body(), "postmortem", known=("body_draft",))
    text = f.text("body_draft", max_len=MAX_BODY, required=True) or ""
    actor = current_actor()
    pm = pm_svc.get_or_create_postmortem(inc, actor=actor)
    sections: dict[str, dict[str, Any]] = {key: {"body": ""} for key in pm_svc.SECTION_KEYS}
    sections["summary"] = {"body": text, "public": True}
    pm_svc.save_postmortem(pm, actor=actor, sections=sections)
    return jsonify(postmortem_json(pm))


@route("/pages/<spid:page_id>/incidents/<spid:incident_id>/postmortem/publish", methods=("PUT",), scope="write")
def postmortem_publish(incident_id: str):
    inc, pm = _postmortem(incident_id)
    f = Fields.envelope(request_body(), "postmortem", known=("notify_subscribers",),
                        ignored=("notify_twitter", "custom_tweet"), required=False)
    pm_svc.publish_postmortem(pm, actor=current_actor(), notify_subscribers=bool(f.boolean("notify_subscribers")))
    return jsonify(postmortem_json(inc.postmortem))


@route("/pages/<spid:page_id>/incidents/<spid:incident_id>/postmortem/revert", methods=("PUT",), scope="write")
def postmortem_revert(incident_id: str):
    inc, pm = _postmortem(incident_id)
    Fields(request_body(), "")  # no fields
    pm_svc.unpublish_postmortem(pm, actor=current_actor())
    return jsonify(postmortem_json(inc.postmortem))
