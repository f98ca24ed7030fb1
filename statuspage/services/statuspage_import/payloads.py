"""Statuspage's management API payloads, read leniently into plain records.

The published OpenAPI description and Statuspage's real answers disagree in places, and both must
parse: a group's ``components`` is documented as a string holding a JSON array and answered as an
array; ``position`` of a group is documented as a string; ``postmortem_published_at`` is documented as
a boolean and answered as a timestamp; timestamps come as ``2013-04-21T13:07:16-06:00``,
``...07.000+00:00`` or ``...07.123Z``. Unknown fields are ignored. A record that cannot be read
raises :class:`PayloadError` naming it, so the importer can report it and go on with the rest.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage",
                      "under_maintenance")
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
IMPACTS = ("none", "minor", "major", "critical", "maintenance")


class PayloadError(ValueError):
    """A source record that cannot be imported; the message names it and says why."""


def _obj(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PayloadError(f"{what}: expected an object, got {type(data).__name__}")
    return data


def _id(data: dict[str, Any], what: str, key: str = "id") -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise PayloadError(f"{what}: missing or invalid {key}")
    return value.strip()


def _choice(value: Any, choices: tuple[str, ...], default: str) -> str:
    return value if isinstance(value, str) and value in choices else default


def _text(value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    return value[:limit] if limit else value


def parse_time(value: Any) -> dt.datetime | None:
    """A Statuspage timestamp as aware UTC; None for null, booleans or anything unreadable."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if " " in text and "T" not in text:
        text = text.replace(" ", "T", 1)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _bool(value: Any, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return default


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def id_list(value: Any) -> list[str]:
    """A list of ids, also from a string holding a JSON array (as the OpenAPI examples write them)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError:
            value = [part.strip() for part in text.split(",")]
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, str | int) and not isinstance(item, bool) and str(item).strip():
            out.append(str(item).strip())
    return out


@dataclass(frozen=True)
class SourceGroup:
    id: str
    name: str
    description: str | None
    position: int
    components: tuple[str, ...]
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class SourceComponent:
    id: str
    name: str
    description: str | None
    status: str
    position: int
    group_id: str | None
    showcase: bool
    only_show_if_degraded: bool
    start_date: dt.date | None
    created_at: dt.datetime | None
    is_group: bool = False
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceComponentChange:
    code: str
    old_status: str | None
    new_status: str


@dataclass(frozen=True)
class SourceUpdate:
    id: str
    status: str
    body: str
    created_at: dt.datetime
    display_at: dt.datetime
    deliver_notifications: bool
    affected_components: tuple[SourceComponentChange, ...]


@dataclass(frozen=True)
class SourceIncident:
    id: str
    name: str
    status: str
    impact: str
    impact_override: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    monitoring_at: dt.datetime | None
    resolved_at: dt.datetime | None
    scheduled_for: dt.datetime | None
    scheduled_until: dt.datetime | None
    scheduled_remind_prior: bool
    scheduled_reminded_at: dt.datetime | None
    scheduled_auto_in_progress: bool
    components: tuple[tuple[str, str], ...]  # (component id, its status as the source shows it)
    updates: tuple[SourceUpdate, ...]
    postmortem_body: str | None
    postmortem_published_at: dt.datetime | None
    postmortem_updated_at: dt.datetime | None

    @property
    def is_maintenance(self) -> bool:
        return self.status in MAINTENANCE_STATUSES

    @property
    def has_postmortem_draft(self) -> bool:
        """The source keeps postmortem text that is not published (fetched separately)."""
        return self.postmortem_published_at is None and self.postmortem_updated_at is not None


@dataclass(frozen=True)
class SourceTemplate:
    id: str
    name: str
    title: str | None
    body: str
    update_status: str | None


@dataclass(frozen=True)
class SourceSubscriber:
    id: str
    mode: str
    email: str | None
    components: tuple[str, ...]
    created_at: dt.datetime | None
    quarantined_at: dt.datetime | None


def parse_group(data: Any) -> SourceGroup:
    d = _obj(data, "component group")
    gid = _id(d, "component group")
    return SourceGroup(id=gid, name=_text(d.get("name"), 200) or gid, description=_text(d.get("description")),
                       position=_int(d.get("position")), components=tuple(id_list(d.get("components"))),
                       created_at=parse_time(d.get("created_at")))


def parse_component(data: Any) -> SourceComponent:
    d = _obj(data, "component")
    cid = _id(d, "component")
    status = _choice(d.get("status"), COMPONENT_STATUSES, "operational")
    group_id = d.get("group_id")
    return SourceComponent(
        id=cid, name=_text(d.get("name"), 200) or cid, description=_text(d.get("description")), status=status,
        position=_int(d.get("position")), group_id=str(group_id) if group_id not in (None, "", "null") else None,
        showcase=_bool(d.get("showcase"), True), only_show_if_degraded=_bool(d.get("only_show_if_degraded")),
        start_date=parse_date(d.get("start_date")), created_at=parse_time(d.get("created_at")),
        is_group=_bool(d.get("group")), children=tuple(id_list(d.get("components"))))


def _change(data: Any) -> SourceComponentChange | None:
    if not isinstance(data, dict):
        return None
    code = data.get("code") or data.get("id")
    new = data.get("new_status")
    if not isinstance(code, str | int) or new not in COMPONENT_STATUSES:
        return None
    old = data.get("old_status")
    return SourceComponentChange(code=str(code), old_status=old if old in COMPONENT_STATUSES else None,
                                 new_status=new)


def parse_update(data: Any, incident: str) -> SourceUpdate:
    d = _obj(data, f"update of incident {incident}")
    uid = _id(d, f"update of incident {incident}")
    created = parse_time(d.get("created_at")) or parse_time(d.get("display_at"))
    if created is None:
        raise PayloadError(f"update {uid} of incident {incident}: no created_at")
    status = d.get("status")
    if status not in INCIDENT_STATUSES + MAINTENANCE_STATUSES:
        raise PayloadError(f"update {uid} of incident {incident}: unknown status {str(status)[:30]!r}")
    changes = [c for c in (_change(x) for x in d.get("affected_components") or []) if c is not None]
    return SourceUpdate(id=uid, status=status, body=_text(d.get("body")) or "", created_at=created,
                        display_at=parse_time(d.get("display_at")) or created,
                        deliver_notifications=_bool(d.get("deliver_notifications"), True),
                        affected_components=tuple(changes))


def parse_incident(data: Any) -> SourceIncident:
    d = _obj(data, "incident")
    iid = _id(d, "incident")
    status = d.get("status")
    if status not in INCIDENT_STATUSES + MAINTENANCE_STATUSES:
        raise PayloadError(f"incident {iid}: unknown status {str(status)[:30]!r}")
    created = parse_time(d.get("created_at"))
    if created is None:
        raise PayloadError(f"incident {iid}: no created_at")
    updates = tuple(parse_update(u, iid) for u in d.get("incident_updates") or [])
    published = d.get("postmortem_published_at")
    published_at = parse_time(published)
    if published_at is None and published is True:  # the OpenAPI description's type: a flag, no time
        published_at = parse_time(d.get("postmortem_body_last_updated_at")) or parse_time(d.get("updated_at"))
    body = _text(d.get("postmortem_body"))
    if published_at is not None and not (body or "").strip():
        published_at = None  # nothing to show
    comps = []
    for comp in d.get("components") or []:
        if isinstance(comp, dict) and isinstance(comp.get("id"), str | int):
            comps.append((str(comp["id"]), _choice(comp.get("status"), COMPONENT_STATUSES, "operational")))
    impact = _choice(d.get("impact"), IMPACTS, "none")
    override = d.get("impact_override") if d.get("impact_override") in IMPACTS else None
    scheduled_for = parse_time(d.get("scheduled_for"))
    scheduled_until = parse_time(d.get("scheduled_until"))
    if status in MAINTENANCE_STATUSES and (scheduled_for is None or scheduled_until is None
                                           or scheduled_until <= scheduled_for):
        raise PayloadError(f"maintenance {iid}: needs scheduled_for before scheduled_until")
    return SourceIncident(
        id=iid, name=_text(d.get("name"), 300) or iid, status=status, impact=impact, impact_override=override,
        created_at=created, updated_at=parse_time(d.get("updated_at")) or created,
        started_at=parse_time(d.get("started_at")), monitoring_at=parse_time(d.get("monitoring_at")),
        resolved_at=parse_time(d.get("resolved_at")), scheduled_for=scheduled_for,
        scheduled_until=scheduled_until, scheduled_remind_prior=_bool(d.get("scheduled_remind_prior")),
        scheduled_reminded_at=parse_time(d.get("scheduled_reminded_at")),
        scheduled_auto_in_progress=_bool(d.get("scheduled_auto_in_progress"), True) or _bool(
            d.get("scheduled_auto_transition")),
        components=tuple(comps), updates=updates, postmortem_body=body,
        postmortem_published_at=published_at,
        postmortem_updated_at=parse_time(d.get("postmortem_body_last_updated_at")))


def parse_template(data: Any) -> SourceTemplate:
    d = _obj(data, "incident template")
    tid = _id(d, "incident template")
    status = d.get("update_status")
    return SourceTemplate(id=tid, name=_text(d.get("name"), 200) or tid, title=_text(d.get("title"), 300),
                          body=_text(d.get("body")) or "",
                          update_status=status if status in INCIDENT_STATUSES[:4] + MAINTENANCE_STATUSES
                          else None)


def parse_subscriber(data: Any) -> SourceSubscriber:
    d = _obj(data, "subscriber")
    sid = _id(d, "subscriber")
    mode = str(d["mode"]) if isinstance(d.get("mode"), str) else ("email" if d.get("email") else "unknown")
    return SourceSubscriber(id=sid, mode=mode, email=_text(d.get("email"), 320),
                            components=tuple(id_list(d.get("components"))),
                            created_at=parse_time(d.get("created_at")),
                            quarantined_at=parse_time(d.get("quarantined_at")))


def postmortem_draft(data: Any) -> str | None:
    """The unpublished text of a GET .../postmortem answer (``body_draft``), if any."""
    if not isinstance(data, dict):
        return None
    text = data.get("body_draft")
    return text if isinstance(text, str) and text.strip() else None
