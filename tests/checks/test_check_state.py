"""The check state machine with a controlled clock: thresholds, degraded, flapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from checks.state import CheckState, Transition, apply

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def feed(outcomes: str, state: CheckState | None = None, *, every: timedelta = timedelta(seconds=30),
         start: datetime = T0, **options) -> list[Transition]:
    """Apply outcomes given as letters (u=up, d=down, g=degraded), one per interval."""
    names = {"u": "up", "d": "down", "g": "degraded"}
    state = state or CheckState()
    transitions = []
    for i, letter in enumerate(outcomes.replace(" ", "")):
        transition = apply(state, names[letter], start + i * every, **options)
        transitions.append(transition)
        state = transition.state
    return transitions


def statuses(transitions: list[Transition]) -> str:
    letters = {"unknown": "?", "up": "u", "down": "d", "degraded": "g"}
    return "".join(letters[t.new_status] for t in transitions)


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ("uu", "?u"),  # success threshold 2 before up
        ("u", "?"),
        ("ddd", "??d"),  # failure threshold 3 before down
        ("uu dd u ddd", "?u uu u uud"),  # blips never reach the threshold
        ("uu ddd uu", "?u uud du"),  # down, then two successes to come back
        ("uu ddd u d u u", "?u uud d d d u"),
        ("uu ggg", "?u uug"),  # degraded after 3 degraded outcomes
        ("uu gdg", "?u uug"),  # a mix of degraded and down is degraded
        ("uu ggg ddd", "?u uug ggd"),  # degraded can still go down
        ("uu ddd gg", "?u uud dg"),  # from down, two non-down outcomes are a partial recovery
        ("uu ddd ug", "?u uud dg"),
        ("uu ddd gg uu", "?u uud dg gu"),
        ("uu ggg u g u g", "?u uug g g g g"),  # alternating up/degraded stays degraded
        ("ggg", "??g"),
        ("dgd", "??g"),
    ],
    ids=lambda value: value.replace(" ", "") if isinstance(value, str) else None,
)
def test_status_follows_the_thresholds(outcomes, expected):
    assert statuses(feed(outcomes)) == expected.replace(" ", "")


def test_custom_thresholds():
    assert statuses(feed("d", failure_threshold=1)) == "d"
    assert statuses(feed("uuu dd uuu", failure_threshold=2, success_threshold=3)) == "??u ud ddu".replace(" ", "")


def test_counters_are_kept():
    state = feed("uu dd")[-1].state
    assert state.consecutive_failures == 2 and state.consecutive_successes == 0
    assert state.status == "up"


def test_notifications():
    transitions = feed("uu ddd uu")
    notified = [(t.old_status, t.new_status) for t in transitions if t.notify]
    # unknown -> up is not news; up -> down and down -> up are.
    assert notified == [("up", "down"), ("down", "up")]


def test_a_check_that_starts_down_notifies():
    transitions = feed("ddd")
    assert transitions[-1].notify and transitions[-1].new_status == "down"


def test_flapping_is_detected_and_holds_notifications():
    # Status changes every 2-3 probes: up/down six times within a few minutes.
    transitions = feed("uu d uu d uu d uu d uu d uu d uu", failure_threshold=1, success_threshold=2)
    changes = [t for t in transitions if t.changed and t.old_status != "unknown"]
    assert len(changes) >= 6
    sixth = changes[5]
    assert sixth.state.flapping and sixth.flapping_changed and not sixth.notify
    assert all(t.notify for t in changes[:5])
    assert not any(t.notify for t in changes[6:])


def test_flapping_clears_after_a_quiet_window_and_tells_the_final_status():
    options = {"failure_threshold": 1, "success_threshold": 1, "flap_window": 600, "flap_threshold": 4}
    transitions = feed("u d u d u", **options)  # the 4th change (at 2 min, back to up) starts flapping
    state = transitions[-1].state
    assert state.flapping and state.status == "up"
    assert state.notified_status == "down"  # the return to "up" was held back
    # Still up 9 minutes later: within the quiet window, still flapping.
    still = apply(state, "up", T0 + timedelta(minutes=11), **options)
    assert still.state.flapping and not still.notify
    # Ten minutes after the last change, flapping clears; the held "up" is now told.
    cleared = apply(still.state, "up", T0 + timedelta(minutes=12), **options)
    assert not cleared.state.flapping and cleared.flapping_changed
    assert cleared.notify and cleared.new_status == "up" and not cleared.changed
    assert cleared.state.notified_status == "up"


def test_flapping_that_clears_on_the_notified_status_stays_quiet():
    options = {"failure_threshold": 1, "success_threshold": 1, "flap_window": 600, "flap_threshold": 4}
    transitions = feed("u d u d u d", **options)
    state = transitions[-1].state
    assert state.flapping and state.status == "down" and state.notified_status == "down"
    cleared = apply(state, "down", T0 + timedelta(minutes=20), **options)
    assert cleared.flapping_changed and not cleared.state.flapping
    assert not cleared.notify


def test_changes_spread_over_a_long_time_are_not_flapping():
    # Six changes, but one every 10 minutes: never six inside the 30-minute window.
    transitions = feed("u d u d u d u", every=timedelta(minutes=10), failure_threshold=1, success_threshold=1)
    assert not any(t.state.flapping for t in transitions)
    assert all(t.notify for t in transitions if t.changed and t.old_status != "unknown")


def test_apply_is_pure():
    state = CheckState()
    apply(state, "down", T0)
    assert state == CheckState()


def test_state_round_trips_through_json():
    state = feed("u d u d u d u d", failure_threshold=1, success_threshold=1)[-1].state
    assert state.flapping
    assert CheckState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert CheckState.from_dict(None) == CheckState()


def test_bad_input_is_a_programming_error():
    with pytest.raises(ValueError):
        apply(CheckState(), "sideways", T0)
    with pytest.raises(ValueError):
        apply(CheckState(), "up", T0, failure_threshold=0)
