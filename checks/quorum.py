"""Deciding a check's status from several probe locations (issue 14): one pure function, no I/O.

Each location keeps its own flap-proof state (``checks.state``); this module only combines them:

* a location counts when it is *fresh* (its agent reported within its staleness limit) and has a
  status (it has run the check at least once); a stale location is unknown — never down, never up;
* with fewer counting locations than the quorum, nothing can be decided: the check is ``unknown`` and
  ``delayed`` (the public page says "Monitoring data delayed" rather than a stale green or a false red);
* ``down`` when at least ``quorum`` counting locations see it down; ``degraded`` when at least
  ``quorum`` see it down or degraded; else ``up``;
* locations that see a failure the quorum did not confirm are ``partial``: recorded, shown in the
  console and to the accounts served from there, never published.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Decision", "LocationView", "decide", "majority"]

FAILING = ("down", "degraded")


@dataclass(frozen=True)
class LocationView:
    """What one location says of one check right now."""

    name: str
    status: str  # up | degraded | down | unknown (never ran there)
    fresh: bool = True
    since: dt.datetime | None = None  # when this location's status began
    message: str = ""


@dataclass(frozen=True)
class Decision:
    status: str  # up | degraded | down | unknown
    delayed: bool  # too few fresh locations to decide
    reason: str  # for the console: why the status is what it is
    counting: tuple[str, ...] = ()  # fresh locations with a status
    down: tuple[str, ...] = ()
    degraded: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    partial: tuple[LocationView, ...] = ()  # failing below the quorum


def majority(count: int) -> int:
    """The default quorum: more than half of the locations."""
    return max(1, count) // 2 + 1


def decide(views: list[LocationView] | tuple[LocationView, ...], quorum: int | None = None) -> Decision:
    """Combine the locations' views of one check into its status (see the module docstring)."""
    total = len(views)
    q = quorum if quorum is not None else majority(total)
    q = max(1, q)
    counting = [v for v in views if v.fresh and v.status in ("up", "degraded", "down")]
    stale = tuple(v.name for v in views if not v.fresh)
    silent = [v.name for v in views if v.fresh and v.status not in ("up", "degraded", "down")]
    down = tuple(v.name for v in counting if v.status == "down")
    degraded = tuple(v.name for v in counting if v.status == "degraded")
    names = tuple(v.name for v in counting)
    if len(counting) < q:
        missing = list(stale) + silent
        why = []
        if stale:
            why.append(f"{_names(stale)} {'has' if len(stale) == 1 else 'have'} not reported in time")
        if silent:
            why.append(f"{_names(silent)} {'has' if len(silent) == 1 else 'have'} no result yet")
        reason = (f"only {len(counting)} of {total} location{'s' if total != 1 else ''} fresh, quorum {q}: "
                  + "; ".join(why)) if missing else f"only {len(counting)} of {total} locations, quorum {q}"
        partial = tuple(v for v in counting if v.status in FAILING)
        return Decision("unknown", True, reason, names, down, degraded, stale, partial)
    failing = [v for v in counting if v.status in FAILING]
    if len(down) >= q:
        status = "down"
    elif len(failing) >= q:
        status = "degraded"
    else:
        status = "up"
    if status == "up":
        partial = tuple(failing)
    elif status == "degraded":
        partial = ()
    else:
        partial = tuple(v for v in counting if v.status == "degraded")
    confirming = [v.name for v in counting if v.status == "down"] if status == "down" else [
        v.name for v in failing]
    if status == "up":
        reason = f"up from {len(counting) - len(failing)} of {len(counting)} fresh locations"
        if failing:
            reason += f"; {_names([v.name for v in failing])} {'sees' if len(failing) == 1 else 'see'} it failing " \
                      f"(below quorum {q})"
    else:
        reason = f"{status} from {_names(confirming)} ({len(confirming)} of {len(counting)} fresh, quorum {q})"
    if stale:
        reason += f"; stale: {_names(stale)}"
    return Decision(status, False, reason, names, down, degraded, stale, partial)


def _names(names) -> str:
    return ", ".join(names)
