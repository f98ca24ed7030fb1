"""Uptime scenarios: hand-computed timelines read off every surface at a frozen instant."""

import datetime as dt

import pytest
import time_machine

from tests.support import factories as f

LADDER = [{"below": 99.0, "credit_percent": 25.0}, {"below": 99.9, "credit_percent": 10.0}]


@pytest.fixture
def clock():
    """Freeze time (time_machine) at an aware datetime; call again to move it."""
    travellers = []

    def at(moment: dt.datetime) -> dt.datetime:
        while travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)
        return moment

    yield at
    while travellers:
        travellers.pop().stop()


def berlin_page(**extra):
    """Acme Cloud in Europe/Berlin with the usual credit ladder (min coverage: the default 90 %)."""
    settings = {"currency": "USD", "sla_credits": LADDER, **extra.pop("settings", {})}
    return f.page(name="Acme Cloud", time_zone="Europe/Berlin", partial_outage_weight=0.3, degraded_weight=0.0,
                  settings=settings, **extra)
