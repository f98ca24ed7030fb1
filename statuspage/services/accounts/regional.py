"""Regional problems: failures seen from an account's own probe locations, even below the quorum.

A check probed from several locations is published only when the quorum agrees (``checks.quorum``).
A failure seen from fewer locations stays off the public page, but an account served from that
location (``Account.locations``) may well feel it: its private view and its owner's digest say so.
:func:`regional_failures` is the one place that finds them, and :meth:`RegionalFailure.sentence` the
one way they are written, so the view and the mail agree.

Read-only; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import Account, AccountComponent, Check, CheckLocation, Component, ProbeLocation
from ...templating import local_time

FAILING = ("down", "degraded")
MESSAGE_LIMIT = 160


@dataclass(frozen=True)
class RegionalFailure:
    """One component failing as seen from one of the account's locations."""

    location: str
    location_name: str | None
    component: str  # the component's name
    component_slug: str
    status: str  # down | degraded (that location's own view of the check)
    since: dt.datetime | None
    message: str  # the location's last result: the resolved condition or transport error

    def sentence(self, tz: dt.tzinfo, now: dt.datetime | None = None) -> str:
        """'Regional problem seen from eu-west (Frankfurt): Public API failing since 10:02 CET (…)'.

        The time is in the page's zone; it carries the date when the failure began on another day.
        """
        where = f"{self.location} ({self.location_name})" if self.location_name else self.location
        state = "failing" if self.status == "down" else "degraded"
        text = f"Regional problem seen from {where}: {self.component} {state}"
        if self.since is not None:
            now = now or utcnow()
            same_day = self.since.astimezone(tz).date() == now.astimezone(tz).date()
            text += f" since {local_time(self.since, tz, '%H:%M' if same_day else '%b %d, %H:%M')}"
        if self.message:
            text += f" ({self.message})"
        return text

    def to_dict(self) -> dict:
        out = asdict(self)
        out["since"] = self.since.isoformat() if self.since else None
        return out


def _short(message: str) -> str:
    message = " ".join((message or "").split())
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT - 1] + "…"


def regional_failures(account: Account, now: dt.datetime | None = None) -> list[RegionalFailure]:
    """Failures seen from the account's locations on the components it uses, quorum or not.

    One row per (component, location), the oldest failing check's view first. Archived accounts,
    archived checks and components, and accounts without locations have none. Each location's status
    is its own flap-proof state as last recorded, so ``now`` only bounds what is read: a failure whose
    location has not run the check since is still shown (its agent going quiet is on-call's business).
    """
    now = now or utcnow()
    locations = [loc for loc in (account.locations or []) if isinstance(loc, str)]
    if account.archived_at is not None or not locations:
        return []
    rows = db.session.execute(
        select(CheckLocation.location, CheckLocation.status, CheckLocation.status_since, CheckLocation.last_result,
               Component.name, Component.slug, Component.position, Component.id)
        .join(Check, Check.id == CheckLocation.check_id)
        .join(Component, Component.id == Check.component_id)
        .join(AccountComponent, AccountComponent.component_id == Component.id)
        .where(AccountComponent.account_id == account.id, CheckLocation.location.in_(locations),
               CheckLocation.status.in_(FAILING), Check.archived_at.is_(None), Component.archived_at.is_(None),
               (CheckLocation.status_since.is_(None)) | (CheckLocation.status_since <= now))
    ).all()
    if not rows:
        return []
    names = dict(db.session.execute(select(ProbeLocation.slug, ProbeLocation.name)
                                    .where(ProbeLocation.slug.in_(locations))).all())
    far_past = dt.datetime.max.replace(tzinfo=dt.UTC)
    rows = sorted(rows, key=lambda r: (r.position, r.id, r.location, r.status != "down", r.status_since or far_past))
    out: dict[tuple[int, str], RegionalFailure] = {}
    for r in rows:
        key = (r.id, r.location)
        if key in out:
            continue  # another check of the same component failing from there: one line is enough
        out[key] = RegionalFailure(location=r.location, location_name=names.get(r.location), component=r.name,
                                   component_slug=r.slug, status=r.status, since=r.status_since,
                                   message=_short((r.last_result or {}).get("message") or ""))
    return list(out.values())


def accounts_served_from(component_id: int, location: str) -> list[Account]:
    """Active accounts using a component and served from a location (whose owners hear of a regional
    problem there)."""
    accounts = db.session.scalars(
        select(Account).join(AccountComponent, AccountComponent.account_id == Account.id)
        .where(AccountComponent.component_id == component_id, Account.archived_at.is_(None))
        .order_by(Account.id)).all()
    return [a for a in accounts if location in (a.locations or [])]
