"""Flap-proof check state: thresholds, a degraded state of its own, and flap detection.

A pure state machine: :func:`apply` takes the stored :class:`CheckState` and
one probe outcome and returns a :class:`Transition` with the new state. It
never reads the clock or mutates its input.

Rules (``F`` = failure_threshold, ``S`` = success_threshold):

* **down** after ``F`` consecutive ``down`` outcomes.
* **up** after ``S`` consecutive ``up`` outcomes.
* **degraded** is entered from up (or unknown) after ``F`` consecutive outcomes
  that are not up, when they are not all down (a mix of degraded and down is
  something wrong that is not a consistent outage). It is entered from down
  after ``S`` consecutive outcomes that are not down, when they are not all up
  (a partial recovery). In short: for the thresholds, *degraded counts as a
  failure when leaving up, and as a success when leaving down*.
* **unknown** is the state before enough outcomes arrived; leaving it to up is
  not news, so it does not notify.
* **flapping**: when ``flap_threshold`` status changes happen within
  ``flap_window`` the check is flapping; notifications are held while it
  flaps. It clears after ``flap_quiet`` without a change (default: the flap
  window); if the status then differs from the last one notified, that
  clearing transition notifies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "DEFAULT_FLAP_THRESHOLD",
    "DEFAULT_FLAP_WINDOW_S",
    "STATUSES",
    "CheckState",
    "Transition",
    "apply",
]

STATUSES = ("unknown", "up", "degraded", "down")
DEFAULT_FLAP_WINDOW_S = 30 * 60.0
DEFAULT_FLAP_THRESHOLD = 6


@dataclass(frozen=True)
class CheckState:
    """The stored state of one check. Start with ``CheckState()``.

    ``consecutive_failures`` counts ``down`` outcomes in a row and
    ``consecutive_successes`` ``up`` outcomes in a row; ``consecutive_not_up``
    and ``consecutive_not_down`` count the streaks that include ``degraded``.
    ``notified_status`` is the last status people were told about.
    """

    status: str = "unknown"
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    consecutive_not_up: int = 0
    consecutive_not_down: int = 0
    flapping: bool = False
    recent_changes: tuple[datetime, ...] = field(default_factory=tuple)
    last_change_at: datetime | None = None
    notified_status: str = "unknown"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable data (datetimes as ISO 8601)."""
        return {
            "status": self.status,
            "consecutive_failures": self.consecutive_failures,
            "consecutive_successes": self.consecutive_successes,
            "consecutive_not_up": self.consecutive_not_up,
            "consecutive_not_down": self.consecutive_not_down,
            "flapping": self.flapping,
            "recent_changes": [t.isoformat() for t in self.recent_changes],
            "last_change_at": self.last_change_at.isoformat() if self.last_change_at else None,
            "notified_status": self.notified_status,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CheckState:
        """Rebuild a state stored with :meth:`to_dict`; ``None`` or ``{}`` gives a fresh state."""
        if not data:
            return cls()
        last = data.get("last_change_at")
        return cls(
            status=data.get("status", "unknown"),
            consecutive_failures=int(data.get("consecutive_failures", 0)),
            consecutive_successes=int(data.get("consecutive_successes", 0)),
            consecutive_not_up=int(data.get("consecutive_not_up", 0)),
            consecutive_not_down=int(data.get("consecutive_not_down", 0)),
            flapping=bool(data.get("flapping", False)),
            recent_changes=tuple(datetime.fromisoformat(t) for t in data.get("recent_changes", [])),
            last_change_at=datetime.fromisoformat(last) if last else None,
            notified_status=data.get("notified_status", data.get("status", "unknown")),
        )


@dataclass(frozen=True)
class Transition:
    """The result of :func:`apply`.

    ``notify`` is True when people should hear about this step: a real status
    change while not flapping, or flapping clearing on a status other than
    the one last notified. ``flapping_changed`` is True when flapping started
    or stopped (worth a note of its own, e.g. "check is flapping").
    """

    state: CheckState
    changed: bool
    old_status: str
    new_status: str
    flapping_changed: bool
    notify: bool

    @property
    def flapping(self) -> bool:
        """Whether the check is flapping after this step."""
        return self.state.flapping


def apply(
    state: CheckState,
    outcome: str,
    now: datetime,
    *,
    failure_threshold: int = 3,
    success_threshold: int = 2,
    flap_window: float = DEFAULT_FLAP_WINDOW_S,
    flap_threshold: int = DEFAULT_FLAP_THRESHOLD,
    flap_quiet: float | None = None,
) -> Transition:
    """Fold one probe ``outcome`` (``up``/``degraded``/``down``) observed at ``now`` into ``state``.

    See the module docstring for the rules. Raises ``ValueError`` for an
    unknown outcome or a threshold below 1 (programming errors, not data).
    """
    if outcome not in ("up", "degraded", "down"):
        raise ValueError(f"unknown outcome {outcome!r}")
    if failure_threshold < 1 or success_threshold < 1 or flap_threshold < 2:
        raise ValueError("thresholds must be at least 1 (flap_threshold at least 2)")
    quiet = timedelta(seconds=flap_window if flap_quiet is None else flap_quiet)

    failures = state.consecutive_failures + 1 if outcome == "down" else 0
    successes = state.consecutive_successes + 1 if outcome == "up" else 0
    not_up = state.consecutive_not_up + 1 if outcome != "up" else 0
    not_down = state.consecutive_not_down + 1 if outcome != "down" else 0

    old = state.status
    new = old
    if failures >= failure_threshold:
        new = "down"
    elif successes >= success_threshold:
        new = "up"
    elif old == "down" and not_down >= success_threshold:
        new = "degraded"
    elif old in ("up", "unknown") and not_up >= failure_threshold:
        new = "degraded"
    changed = new != old

    recent = tuple(t for t in state.recent_changes if now - t < timedelta(seconds=flap_window))
    last_change_at = state.last_change_at
    if changed:
        last_change_at = now
        if old != "unknown":
            recent = (*recent, now)

    was_flapping = state.flapping
    flapping = was_flapping
    if not was_flapping and len(recent) >= flap_threshold:
        flapping = True
    elif was_flapping and last_change_at is not None and now - last_change_at >= quiet:
        flapping = False
        recent = ()
    flapping_changed = flapping != was_flapping

    notified = state.notified_status
    if flapping:
        notify = False
    elif flapping_changed:  # flapping just cleared
        notify = new != notified and not (notified == "unknown" and new == "up")
    else:
        notify = changed and not (old == "unknown" and new == "up")
    if notify or (changed and not flapping and old == "unknown"):
        notified = new

    new_state = replace(
        state,
        status=new,
        consecutive_failures=failures,
        consecutive_successes=successes,
        consecutive_not_up=not_up,
        consecutive_not_down=not_down,
        flapping=flapping,
        recent_changes=recent,
        last_change_at=last_change_at,
        notified_status=notified,
    )
    return Transition(
        state=new_state,
        changed=changed,
        old_status=old,
        new_status=new,
        flapping_changed=flapping_changed,
        notify=notify,
    )
