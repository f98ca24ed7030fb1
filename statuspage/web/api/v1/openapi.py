"""The OpenAPI 3.1 document of /api/v1, kept next to the code it describes (this package; shapes in serializers.py).

A schemathesis run in tests/incidents (every check, schema-valid and schema-violating input) checks
that the server answers what this says. The document is built per request and names this install's
live components where a request must name one, so "schema-valid" means "acceptable" wherever the
domain allows it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ....configfile import MAX_ARR
from ....extensions import db
from ....models import Component
from ....models.constants import COMPONENT_STATUSES, CONTACT_NOTIFY, OUTBOX_STATUSES
from ....services.incidents.lifecycle import DECLARABLE_IMPACTS, INCIDENT_FLOW, KEY_TIMESTAMPS
from ....services.incidents.postmortems import ACTION_STATUSES, SECTION_KEYS
from ....services.notifications.subscriptions import WEBHOOK_FORMATS
from ..toolkit import ARRAYS, CODES, ENVELOPES, Paging

TS = {"type": ["string", "null"], "format": "date-time"}
STR_N = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _in(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A request object: the API reads an explicit null in an optional field as "not given"."""
    return _obj({k: v if k in (required or []) else _nullable(v) for k, v in props.items()}, required)


def _obj(props: dict[str, Any], required: list[str] | None = None, extra: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        out["required"] = required
    return out


ERROR = _obj({"error": _obj({
    "code": {"type": "string", "enum": list(CODES)}, "message": {"type": "string"},
    "fields": {"type": "object", "additionalProperties": {"type": "string"}}},
    ["code", "message", "fields"])}, ["error"])



def _page_params(paging: Paging) -> list[dict[str, Any]]:
    alias = "Alias kept for clients of the older limit/offset lists; do not combine with page/per_page."
    return [
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
        {"name": "per_page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": paging.maximum, "default": paging.default}},
        {"name": "limit", "in": "query", "required": False, "description": f"{alias} Like per_page.",
         "schema": {"type": "integer", "minimum": 1, "maximum": paging.maximum}},
        {"name": "offset", "in": "query", "required": False, "description": f"{alias} Items to skip.",
         "schema": {"type": "integer", "minimum": 0, "maximum": 10**9}},
    ]


PAGE_PARAMS = _page_params(ARRAYS)
ENVELOPE_PAGE_PARAMS = _page_params(ENVELOPES)
PAGE_HEADERS = {"Link": {"schema": {"type": "string"}, "description": "RFC 8288 links: first, prev, next, last"},
                "X-Total-Count": {"schema": {"type": "string", "pattern": "^[0-9]+$"},
                                  "description": "Number of items over all pages"}}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "Retrying a POST with the same key and body replays the first response "
                              "(header `Idempotent-Replayed: true`); the same key with another body is refused "
                              "with 422; while the first request runs — or if it took effect but its response "
                              "was lost to a crash — 409. Keys are kept for 24 hours.",
               "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[\x21-\x7e]+$"}}


def _path_param(name: str, schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _errors(*codes: int) -> dict[str, Any]:
    out = {str(c): {"$ref": "#/components/responses/Error"} for c in codes}
    out["default"] = {"$ref": "#/components/responses/Error"}
    return out


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(schema: dict[str, Any], code: int = 200, description: str = "OK") -> dict[str, Any]:
    return {str(code): {"description": description, "content": {"application/json": {"schema": schema}}}}


def _list(name: str) -> dict[str, Any]:
    return {"200": {"description": "One page, as an array; see the Link and X-Total-Count headers.",
                    "headers": PAGE_HEADERS,
                    "content": {"application/json": {"schema": {"type": "array", "items": _ref(name)}}}}}


def _enveloped_list(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "One page, inside an object; see the Link and X-Total-Count headers.",
                    "headers": PAGE_HEADERS, "content": {"application/json": {"schema": schema}}}}


def _get(summary: str, responses: dict, params: list | None = None, tag: str = "") -> dict[str, Any]:
    return {"summary": summary, "tags": [tag] if tag else [], "parameters": params or [],
            "responses": {**responses, **_errors(400, 401, 404)}}


def _write(summary: str, body: dict | None, responses: dict, params: list | None = None,
           tag: str = "") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag] if tag else [], "parameters": params or [],
                          "responses": {**responses, **_errors(400, 401, 403, 404, 409, 415, 422)}}
    if body is not None:
        op["requestBody"] = _json_body(body)
    return op


COMPONENT_STATUS = {"type": "string", "enum": list(COMPONENT_STATUSES)}
INCIDENT_STATUS = {"type": "string", "enum": [*INCIDENT_FLOW, "postmortem", "scheduled", "in_progress",
                                              "verifying", "completed", "cancelled"]}


def _status_map(ids: list[str]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": COMPONENT_STATUS, "maxProperties": 500,
            "propertyNames": {"enum": ids}, "description": "{component id: status}"}


def _id_list(ids: list[str], *, min_items: int = 0) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string", "enum": ids}, "minItems": min_items, "maxItems": 500}


SCHEMAS: dict[str, Any] = {
    "Error": ERROR,
    "Component": _obj({
        "id": {"type": "string"}, "name": {"type": "string"}, "description": STR_N, "status": COMPONENT_STATUS,
        "status_source": {"type": "string", "enum": ["check", "incident", "maintenance", "manual"]},
        "group_id": STR_N, "position": {"type": "integer"}, "public": {"type": "boolean"},
        "showcase": {"type": "boolean"}, "only_show_if_degraded": {"type": "boolean"},
        "automation": {"type": "string", "enum": ["off", "draft", "publish"]},
        "created_at": TS, "updated_at": TS},
        ["id", "name", "status", "status_source", "group_id", "position", "public"]),
    "ComponentGroup": _obj({"id": {"type": "string"}, "name": {"type": "string"}, "description": STR_N,
                           "position": {"type": "integer"},
                           "components": {"type": "array", "items": {"type": "string"}}},
                          ["id", "name", "components"]),
    "Check": _obj({
        "id": {"type": "string"}, "component_id": {"type": "string"}, "kind": {"type": "string"},
        "target": STR_N, "state": {"type": "string", "enum": ["unknown", "up", "degraded", "down"]},
        "flapping": {"type": "boolean"}, "interval_seconds": {"type": "number"}, "silenced_until": TS,
        "last_run_at": TS, "last_result": {"type": ["object", "null"]},
        "latency_24h": {"type": "array", "description": "single check only: hourly runs, failures, p50/p95 ms",
                        "items": {"type": "object"}},
        "quorum": {"type": ["integer", "null"],
                   "description": "probed from several locations: how many must agree (null: the local worker only)"},
        "status_reason": {**STR_N, "description": "why the state is what it is when locations disagree or are stale"},
        "monitoring_delayed": {"type": "boolean",
                               "description": "too few fresh locations to decide (the public page says so)"},
        "partial_failures": {"type": "array", "description": "failures seen from fewer locations than the quorum",
                             "items": _obj({"location": {"type": "string"}, "status": {"type": "string"},
                                            "since": STR_N, "message": STR_N}, ["location", "status"])},
        "locations": {"type": "array", "description": "single check only: each location's view (empty: the "
                                                      "local worker alone)", "items": _ref("CheckLocation")}},
        ["id", "component_id", "kind", "state", "silenced_until", "last_result"]),
    "CheckLocation": _obj({
        "location": {"type": "string"}, "status": {"type": "string", "enum": ["unknown", "up", "degraded", "down"]},
        "since": TS, "fresh": {"type": "boolean"}, "last_run_at": TS,
        "latency_p50_ms": {"type": ["number", "null"]}, "latency_p95_ms": {"type": ["number", "null"]},
        "outcome": STR_N, "message": {"type": "string"}, "conditions": {"type": "array", "items": {"type": "object"}}},
        ["location", "status", "since", "fresh", "last_run_at", "latency_p50_ms", "latency_p95_ms", "message"]),
    "Location": _obj({
        "id": {"type": "string"}, "name": STR_N, "local": {"type": "boolean"},
        "state": {"type": "string", "enum": ["fresh", "stale", "never"]}, "stale": {"type": "boolean"},
        "stale_after_seconds": {"type": "number"}, "last_report_at": TS,
        "last_report_age_seconds": {"type": ["number", "null"]}, "stale_since": TS,
        "lag_seconds": {"type": ["number", "null"], "description": "age of the oldest result of the last batch"},
        "agent_version": STR_N, "agent_host": STR_N, "agent_address": STR_N,
        "checks_assigned": {"type": "integer"}, "buffer_depth": {"type": ["integer", "null"]},
        "oldest_buffered_at": TS, "dropped": {"type": ["integer", "null"]},
        "results_received": {"type": ["integer", "null"]}},
        ["id", "local", "state", "stale", "stale_after_seconds", "last_report_at", "checks_assigned"]),
    "AffectedComponent": _obj({"code": {"type": "string"}, "name": {"type": "string"},
                               "old_status": {"type": ["string", "null"]}, "new_status": COMPONENT_STATUS},
                              ["code", "name", "new_status"]),
    "IncidentUpdate": _obj({
        "id": {"type": "string"}, "status": INCIDENT_STATUS, "body": {"type": "string"},
        "internal": {"type": "boolean"}, "deliver_notifications": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "display_at": {"type": "string", "format": "date-time"}, "author": STR_N,
        "affected_components": {"type": "array", "items": _ref("AffectedComponent")}},
        ["id", "status", "body", "internal", "created_at", "affected_components"]),
    "Incident": _obj({
        "id": {"type": "string"}, "name": {"type": "string"}, "status": INCIDENT_STATUS,
        "impact": {"type": "string", "enum": [*DECLARABLE_IMPACTS, "maintenance"]},
        "impact_override": STR_N, "source": {"type": "string"}, "draft": {"type": "boolean"},
        "cause_category": STR_N, "shortlink": {"type": "string"},
        "created_at": TS, "updated_at": TS, "published_at": TS, "postmortem_published_at": TS,
        **{k: TS for k in KEY_TIMESTAMPS},
        "scheduled_for": TS, "scheduled_until": TS, "auto_transition": {"type": "boolean"},
        "reminder_minutes": {"type": ["integer", "null"]},
        "components": {"type": "array", "items": _obj({"id": {"type": "string"}, "name": {"type": "string"},
                                                       "status": COMPONENT_STATUS}, ["id", "name", "status"])},
        "incident_updates": {"type": "array", "items": _ref("IncidentUpdate")}},
        ["id", "name", "status", "impact", "draft", "components", "incident_updates", *KEY_TIMESTAMPS]),
    "Postmortem": _obj({
        "incident_id": {"type": "string"}, "cause_category": STR_N, "published_at": TS, "updated_at": TS,
        "sections": {"type": "array", "items": _obj({
            "key": {"type": "string", "enum": list(SECTION_KEYS)}, "title": {"type": "string"},
            "body": {"type": "string"}, "public": {"type": "boolean"}}, ["key", "title", "body", "public"])},
        "action_items": {"type": "array", "items": _ref("ActionItem")}},
        ["incident_id", "sections", "action_items", "published_at"]),
    "ActionItem": _obj({"id": {"type": "integer"}, "title": {"type": "string"}, "owner": STR_N,
                        "due_date": {"type": ["string", "null"], "format": "date"},
                        "status": {"type": "string", "enum": list(ACTION_STATUSES)}, "link": STR_N},
                       ["id", "title", "status"]),
    "Subscriber": _obj({
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["email", "webhook"]}, "email": STR_N,
        "url": STR_N, "format": {"type": ["string", "null"], "enum": [*WEBHOOK_FORMATS, None]},
        "state": {"type": "string", "enum": ["pending", "active", "unsubscribed", "quarantined"]},
        "components": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"const": "all"}]},
        "created_at": TS, "confirmed_at": TS, "unsubscribed_at": TS, "quarantined_at": TS,
        "failure_count": {"type": ["integer", "null"]}, "last_error": STR_N,
        "secret": {"type": "string", "description": "a new webhook's signing secret, in the 201 answer only"}},
        ["id", "kind", "state", "components"]),
    "Account": _obj({
        "id": {"type": "string"}, "name": {"type": "string"}, "arr": {"type": "number"}, "tier": STR_N,
        "renewal_date": {"type": ["string", "null"], "format": "date"}, "sla_target": {"type": ["number", "null"]},
        "owner": STR_N, "team": {"type": "array", "items": {"type": "string"}},
        "components": {"type": "array", "items": {"type": "string"}},
        "contacts": {"type": "array", "items": _obj({"email": {"type": "string"}, "name": STR_N, "role": STR_N,
                                                     "notify": {"type": "string"}}, ["email", "notify"])},
        "source": {"type": "string", "enum": ["config", "import", "api"]}, "archived": {"type": "boolean"},
        "updated_at": {"type": ["string", "null"]}}, ["id", "name", "components", "source", "archived"]),
    "OutboxMessage": _obj({
        "id": {"type": "integer"}, "status": {"type": "string", "enum": list(OUTBOX_STATUSES)},
        "channel": {"type": "string"}, "kind": {"type": "string"}, "audience": STR_N,
        "recipient": {"type": "string", "description": "an address, or a webhook URL masked below admin"},
        "subscriber_id": {"type": ["integer", "null"]}, "incident_id": {"type": ["integer", "null"]},
        "update_id": {"type": ["integer", "null"]}, "attempts": {"type": "integer"}, "next_attempt_at": TS,
        "last_error": STR_N, "claimed_by": STR_N, "claimed_until": TS, "message_id": STR_N, "created_at": TS,
        "sent_at": TS, "dedupe_key": STR_N},
        ["id", "status", "channel", "kind", "recipient", "attempts", "last_error"]),
    "Accepted": _obj({"status": {"const": "accepted"}, "message": {"type": "string"}}, ["status", "message"]),
}

# Text the services accept (statuspage/text.py): no control characters (line breaks and tabs only in
# multi-line fields), at least one visible character where a value is required.
LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def _text(max_len: int, *, required: bool = False, multiline: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "maxLength": max_len, "pattern": LINES if multiline else LINE}
    if required:
        out = {**out, "minLength": 1, "allOf": [{"pattern": r"\S"}]}
    return out


NAME = _text(300, required=True)
BODY = _text(20000, multiline=True)
# The API takes times from 1970 to 8999 (checks/validation.py as_datetime).
DATE_TIME = {"type": "string", "format": "date-time", "pattern": r"^(19[7-9][0-9]|[2-8][0-9]{3})-"}

def _request_schemas(ids: list[str]) -> dict[str, Any]:
    """Request bodies that name components, with the ids of this install's live components."""
    status_map = _status_map(ids)
    return {
        "INCIDENT_CREATE": _obj({"incident": _in({
            "name": NAME, "status": {"type": "string", "enum": list(INCIDENT_FLOW)},
            "impact_override": {"type": "string", "enum": list(DECLARABLE_IMPACTS)}, "body": BODY,
            "components": status_map, "component_ids": _id_list(ids),
            "deliver_notifications": {"type": "boolean"},
            "draft": {"type": "boolean", "description": "true: held in the console, not public (our extension)"},
            "started_at": DATE_TIME}, ["name"])}, ["incident"]),
        "INCIDENT_PATCH": _obj({"incident": _in({
            "name": NAME, "status": {"type": "string", "enum": list(INCIDENT_FLOW)},
            "impact_override": {"type": "string", "enum": list(DECLARABLE_IMPACTS)}, "body": BODY,
            "components": status_map, "deliver_notifications": {"type": "boolean"},
            "draft": {"type": "boolean", "description": "false publishes a draft"},
            **{k: DATE_TIME for k in KEY_TIMESTAMPS}})}, ["incident"]),
        "UPDATE_CREATE": _obj({"incident_update": _in({
            "status": {"type": "string", "enum": list(INCIDENT_FLOW)}, "body": BODY, "components": status_map,
            "deliver_notifications": {"type": "boolean"}, "internal": {"type": "boolean"}})}, ["incident_update"]),
        "MAINT_CREATE": _obj({"maintenance": _in({
            "name": NAME, "body": BODY, "scheduled_for": DATE_TIME, "scheduled_until": DATE_TIME,
            "components": _id_list(ids, min_items=1), "auto_transition": {"type": "boolean"},
            "reminder_minutes": {"type": "integer", "minimum": 0, "maximum": 10080},
            "deliver_notifications": {"type": "boolean"}}, ["name", "scheduled_for", "scheduled_until", "components"])},
            ["maintenance"]),
    }


MAINT_PATCH = _obj({"maintenance": _in({
    "status": {"type": "string", "enum": ["scheduled", "in_progress", "verifying", "completed", "cancelled"]},
    "body": BODY, "scheduled_until": DATE_TIME, "deliver_notifications": {"type": "boolean"}})}, ["maintenance"])

POSTMORTEM_PUT = _obj({"postmortem": _in({
    "cause_category": {"type": "string", "maxLength": 40},
    "sections": {"type": "object", "propertyNames": {"enum": list(SECTION_KEYS)},
                 "additionalProperties": _obj({"body": _text(50000, multiline=True),
                                               "public": {"type": "boolean"}})}})}, ["postmortem"])

ACTION_CREATE = _obj({"action_item": _in({
    "title": _text(500, required=True), "owner": _text(320), "due_date": {"type": "string", "format": "date"},
    "status": {"type": "string", "enum": list(ACTION_STATUSES)},
    "link": {"type": "string", "maxLength": 1000, "pattern": "^https?://[^\x00-\x20\x7f-\x9f]*$"}}, ["title"])},
    ["action_item"])

SILENCE = {"oneOf": [
    _obj({"until": {"type": ["string", "null"], "format": "date-time"}}, ["until"]),
    _obj({"minutes": {"type": "integer", "minimum": 0, "maximum": 43200}}, ["minutes"])]}

COMPONENT_PATCH = _obj({"component": _obj({"status": COMPONENT_STATUS}, ["status"])}, ["component"])


ENVELOPE = {"type": "object"}
_NOT_IN_EMAIL = r"@\s<>\"',;\x00-\x1f\x7f-\x9f"
EMAIL = {"type": "string", "maxLength": 254,
         "pattern": f"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\\.[^{_NOT_IN_EMAIL}]+$"}
# What a subscription takes (services/notifications/subscriptions.normalize_email): plain ASCII addresses.
SUBSCRIBER_EMAIL = {"type": "string", "maxLength": 254,
                    "pattern": r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z0-9.-]*[A-Za-z0-9]$"}


def _account(ids: list[str], required: list[str]) -> dict[str, Any]:
    """An account as the API takes it: the config file's shape, with strict JSON types."""
    return _in({
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"},
        "name": _text(300, required=True), "arr": {"type": "number", "minimum": 0, "maximum": MAX_ARR},
        "tier": _text(50), "renewal_date": {"type": "string", "format": "date"},
        "sla_target": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
        "owner": {"anyOf": [EMAIL, {"const": ""}], "description": "empty: no owner"},
        "team": {"type": "array", "items": EMAIL, "maxItems": 100}, "components": _id_list(ids),
        "contacts": {"type": "array", "maxItems": 500, "items": _obj({
            "email": EMAIL, "name": _text(200), "role": _text(100),
            "notify": {"type": "string", "enum": list(CONTACT_NOTIFY)}}, ["email"])}}, required)


def _subscriber_create(public_ids: list[str]) -> dict[str, Any]:
    return {"oneOf": [
        _obj({"kind": {"const": "webhook"}, "url": {"type": "string", "minLength": 1, "maxLength": 1000},
              "format": {"type": "string", "enum": list(WEBHOOK_FORMATS)},
              "components": _nullable(_id_list(public_ids))}, ["kind", "url"]),
        _obj({"kind": {"const": "email"}, "email": SUBSCRIBER_EMAIL,
              "components": _nullable(_id_list(public_ids))}, ["kind", "email"])],
        "description": "A webhook is added at once (its signing secret is in the answer, once; the URL must "
                       "resolve to a public address). An email address is mailed a confirmation link (at most "
                       "one per interval); nobody is opted in."}
SUBSCRIBERS = _obj({"total": {"type": "integer"}, "subscribers": {"type": "array", "items": _ref("Subscriber")}},
                   ["total", "subscribers"])
OUTBOX = _obj({"counts": {"type": "object", "additionalProperties": {"type": "integer"}},
               "messages": {"type": "array", "items": _ref("OutboxMessage")}}, ["counts", "messages"])
ACCOUNTS = _obj({"accounts": {"type": "array", "items": _ref("Account")}}, ["accounts"])


def _query(name: str, kind: str = "string", enum: list[str] | None = None, *, lo: int = 1,
           hi: int = 2**31 - 1) -> dict[str, Any]:
    """A query parameter: an enum, a bounded integer, or text of at most 200 characters (web/query.py)."""
    schema: dict[str, Any]
    if enum:
        schema = {"type": kind, "enum": enum}
    elif kind == "integer":
        schema = {"type": "integer", "minimum": lo, "maximum": hi}
    else:
        schema = {"type": "string", "maxLength": 200, "pattern": LINE}
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _int_path(name: str) -> dict[str, Any]:
    return _path_param(name, {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})


def build_spec() -> dict[str, Any]:
    """The whole document (component ids are this install's live ones)."""
    rows = db.session.execute(select(Component.slug, Component.public)
                              .where(Component.archived_at.is_(None)).order_by(Component.slug)).all()
    ids = [slug for slug, _public in rows]
    public_ids = [slug for slug, public in rows if public]
    bodies = _request_schemas(ids)
    INCIDENT_CREATE, INCIDENT_PATCH = bodies["INCIDENT_CREATE"], bodies["INCIDENT_PATCH"]  # noqa: N806
    UPDATE_CREATE, MAINT_CREATE = bodies["UPDATE_CREATE"], bodies["MAINT_CREATE"]  # noqa: N806
    slug = [_path_param("slug")]
    pid = [_path_param("public_id")]
    paths = {
        "/api/v1/components": {"get": _get("List components", _list("Component"), PAGE_PARAMS, "components")},
        "/api/v1/components/{slug}": {
            "get": _get("Get a component", _ok(_ref("Component")), slug, "components"),
            "patch": _write("Set a component's status by hand (holds until its checks change)", COMPONENT_PATCH,
                            _ok(_ref("Component")), slug, "components")},
        "/api/v1/component-groups": {"get": _get("List component groups", _list("ComponentGroup"), PAGE_PARAMS,
                                                 "components")},
        "/api/v1/component-groups/{slug}": {"get": _get("Get a component group", _ok(_ref("ComponentGroup")),
                                                        slug, "components")},
        "/api/v1/checks": {"get": _get("List checks with their state and latest result", _list("Check"),
                                       PAGE_PARAMS, "checks")},
        "/api/v1/checks/{slug}": {"get": _get("Get a check", _ok(_ref("Check")), slug, "checks")},
        "/api/v1/locations": {"get": _get("List probe locations: freshness, last report, lag, agent, buffer",
                                          _list("Location"), PAGE_PARAMS, "checks")},
        "/api/v1/locations/{slug}": {"get": _get("Get a probe location", _ok(_ref("Location")), slug, "checks")},
        "/api/v1/checks/{slug}/silence": {"post": _write(
            "Silence a check until a time (or for some minutes); until null or minutes 0 lifts it",
            SILENCE, _ok(_ref("Check")), slug, "checks")},
        "/api/v1/incidents": {
            "get": _get("List incidents, newest first", _list("Incident"), [*PAGE_PARAMS, {
                "name": "state", "in": "query", "required": False,
                "schema": {"type": "string", "enum": ["open", "closed", "draft"]}}], "incidents"),
            "post": _write("Create an incident (Statuspage body shape)", INCIDENT_CREATE,
                           _ok(_ref("Incident"), 201, "Created"), [IDEMPOTENCY], "incidents")},
        "/api/v1/incidents/{public_id}": {
            "get": _get("Get an incident", _ok(_ref("Incident")), pid, "incidents"),
            "patch": _write("Update an incident: a status/body/components change posts an update; name, "
                            "impact_override and key times edit it; draft=false publishes a draft",
                            INCIDENT_PATCH, _ok(_ref("Incident")), pid, "incidents")},
        "/api/v1/incidents/{public_id}/updates": {
            "get": _get("List an incident's updates (internal notes included)", _list("IncidentUpdate"),
                        [*pid, *PAGE_PARAMS], "incidents"),
            "post": _write("Post an update or an internal note", UPDATE_CREATE,
                           _ok(_ref("IncidentUpdate"), 201, "Created"), [*pid, IDEMPOTENCY], "incidents")},
        "/api/v1/incidents/{public_id}/postmortem": {
            "get": _get("Get the postmortem", _ok(_ref("Postmortem")), pid, "postmortems"),
            "put": _write("Create or edit the postmortem (sections by key, cause category)", POSTMORTEM_PUT,
                          _ok(_ref("Postmortem")), pid, "postmortems")},
        "/api/v1/incidents/{public_id}/postmortem/publish": {"post": {
            **_write("Publish the postmortem; the incident moves to postmortem",
                     _obj({"deliver_notifications": {"type": "boolean"}}), _ok(_ref("Postmortem")), pid,
                     "postmortems"),
            "requestBody": {"required": False,
                            "content": {"application/json": {"schema": _obj({"deliver_notifications":
                                                                             {"type": "boolean"}})}}}}},
        "/api/v1/incidents/{public_id}/postmortem/action_items": {"post": _write(
            "Add an action item", ACTION_CREATE, _ok(_ref("ActionItem"), 201, "Created"), [*pid, IDEMPOTENCY],
            "postmortems")},
        "/api/v1/maintenance": {
            "get": _get("List scheduled maintenance", _list("Incident"), [*PAGE_PARAMS, {
                "name": "state", "in": "query", "required": False,
                "schema": {"type": "string", "enum": ["open", "closed"]}}], "maintenance"),
            "post": _write("Schedule maintenance", MAINT_CREATE, _ok(_ref("Incident"), 201, "Created"),
                           [IDEMPOTENCY], "maintenance")},
        "/api/v1/maintenance/{public_id}": {
            "get": _get("Get a maintenance", _ok(_ref("Incident")), pid, "maintenance"),
            "patch": _write("Post an update, move its status, extend (scheduled_until) or cancel", MAINT_PATCH,
                            _ok(_ref("Incident")), pid, "maintenance")},
        # Subscribers, the outbox, accounts and SLA reports answer with envelopes (objects), not arrays.
        "/api/v1/subscribers": {
            "get": _get("List subscribers (filters: state, kind, q)", _enveloped_list(SUBSCRIBERS),
                        [_query("state", enum=["active", "pending", "unsubscribed", "quarantined"]),
                         _query("kind", enum=["email", "webhook"]), _query("q"), *ENVELOPE_PAGE_PARAMS],
                        "subscribers"),
            "post": _write("Add a webhook subscriber (secret shown once) or request an email subscription "
                           "(confirmed by mail)", _subscriber_create(public_ids),
                           {**_ok(_ref("Subscriber"), 201, "Created"), **_ok(_ref("Accepted"), 202, "Accepted")},
                           None, "subscribers")},
        "/api/v1/subscribers/{sub_id}": {
            "get": _get("Get a subscriber", _ok(_ref("Subscriber")), [_int_path("sub_id")], "subscribers"),
            "delete": _write("Remove a subscriber", None, _ok(_ref("Subscriber")), [_int_path("sub_id")],
                             "subscribers")},
        "/api/v1/outbox": {"get": _get(
            "Outbox rows, newest first, with counts per status (filters: status, subscriber_id, incident_id)",
            _enveloped_list(OUTBOX), [_query("status", enum=list(OUTBOX_STATUSES)),
                                      _query("subscriber_id", "integer"), _query("incident_id", "integer"),
                                      *ENVELOPE_PAGE_PARAMS], "subscribers")},
        "/api/v1/outbox/{row_id}": {"get": _get("One outbox row: state, attempts, last error",
                                                _ok(_ref("OutboxMessage")),
                                                [_int_path("row_id")], "subscribers")},
        "/api/v1/outbox/{row_id}/retry": {"post": _write("Retry a failed row now", None, _ok(ENVELOPE),
                                                         [_int_path("row_id")], "subscribers")},
        "/api/v1/accounts": {
            "get": _get("List customer accounts (filters: owner, tier, q; sort: arr, name or renewal)",
                        _enveloped_list(ACCOUNTS), [_query("owner"), _query("tier"), _query("q"),
                                                    _query("sort", enum=["arr", "name", "renewal"]),
                                                    *ENVELOPE_PAGE_PARAMS], "accounts"),
            "post": _write("Create an account (the config file's shape; its id is the CRM id)",
                           _account(ids, ["id", "name"]),
                           _ok(_ref("Account"), 201, "Created"), None, "accounts")},
        "/api/v1/accounts/{external_id}": {
            "get": _get("Get an account by its CRM id", _ok(_ref("Account")), [_path_param("external_id")],
                        "accounts"),
            "patch": _write("Change the fields given (the id cannot change)", _account(ids, []), _ok(_ref("Account")),
                            [_path_param("external_id")], "accounts"),
            "put": _write("Replace the account's fields (the id cannot change)", _account(ids, ["name"]),
                          _ok(_ref("Account")),
                          [_path_param("external_id")], "accounts"),
            "delete": _write("Archive an account", None, {"204": {"description": "Archived"}},
                             [_path_param("external_id")], "accounts")},
        "/api/v1/incidents/{public_id}/affected-accounts": {"get": _get(
            "Accounts using an affected component: ARR, tier, renewal, owner, outage minutes; ARR at risk",
            _ok(ENVELOPE), pid, "accounts")},
        "/api/v1/sla": {"get": _get("SLA report per account for a period (from, to: dates; account: repeatable)",
                                    _ok(ENVELOPE), [{**_query("from"), "schema": {"type": "string", "format": "date"}},
                                                    {**_query("to"), "schema": {"type": "string", "format": "date"}},
                                                    _query("account"),
                                                    _query("format", enum=["json"])], "accounts")},
        "/api/v1/sla/at-risk": {"get": _get("Accounts at risk, largest ARR first, with the reasons (owner: "
                                            "accounts this person owns or is on the team of)",
                                            _ok(ENVELOPE), [_query("owner")], "accounts")},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "statuspage management API", "version": "1.0.0",
                 "description": (
                     "Authenticate with `Authorization: Bearer <token>` or `Authorization: OAuth <token>` "
                     "(Statuspage's scheme). Read endpoints take a read or write token; changes need a write "
                     "token (a console session writing here sends `X-CSRFToken`). Writes need "
                     "`Content-Type: application/json`. Every list pages with `page` and `per_page` "
                     "(`limit`/`offset` are accepted as aliases); the `Link` header (RFC 8288) has first/prev/"
                     "next/last and `X-Total-Count` the total. Most lists are JSON arrays (at most 100 per "
                     "page); subscribers, the outbox and accounts answer inside an object (at most 500 per "
                     "page). A query parameter a route does not list is refused. Every error is "
                     "`{\"error\": {\"code\", \"message\", \"fields\"}}` with a 4xx status and one code "
                     "per situation: 400 `invalid_request` (malformed input: not JSON, not an object, an "
                     "unknown or mistyped field or query parameter; `fields` names each), 401 `unauthorized`, "
                     "403 `forbidden`, 404 `not_found`, 405 `method_not_allowed`, 409 `conflict`, 415 "
                     "`unsupported_media_type`, 422 `validation_failed` (well-formed input that breaks a rule), "
                     "and for `Idempotency-Key` on POSTs 422 `idempotency_key_reused` and 409 "
                     "`idempotency_key_in_flight`.")},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "`OAuth <token>` is accepted too."}},
            "schemas": SCHEMAS,
            "responses": {"Error": {"description": "Error",
                                    "content": {"application/json": {"schema": _ref("Error")}}}},
        },
        "paths": paths,
    }
