"""A component added in the middle of March: figures over the time it was monitored, said in words; its
March SLA has half the month's coverage, so no verdict and no credit — until the configured minimum
coverage allows one.

Europe/Berlin. The config file adding ``search`` is applied on 2026-03-16 09:00 CET (08:00 UTC): its
start date is the local date 2026-03-16 and it is monitored from 08:00 UTC. One outage: 03-20
10:00–10:30 UTC (major, 30 minutes). March in Berlin is 44,580 minutes (03-01 00:00 CET → 04-01 00:00
CEST); monitored: 03-16 08:00 → 03-31 22:00 UTC = 15 days 14 hours = 22,440 minutes → coverage 50.33…%.
"""

import pytest

from statuspage.configfile import ConfigFileError, parse_config
from statuspage.extensions import db
from statuspage.models import Component
from statuspage.services.config_sync import apply_config
from statuspage.services.incidents.status import set_check_status
from tests.support import factories as f
from tests.uptime import surfaces as s

T = f.T
CONFIG = """
page: {{name: Acme Cloud, time_zone: Europe/Berlin}}
components:
  - {{id: search, name: Search}}
accounts:
  - {{id: G-1, name: Globex, arr: 120000, sla_target: 99.9, components: [search]}}
sla:
  credits: [{{below: 99.0, credit_percent: 25}}, {{below: 99.9, credit_percent: 10}}]
{extra}
"""


@pytest.fixture
def added(app, clock):
    clock(T("2026-03-16 08:00"))
    apply_config(parse_config(CONFIG.format(extra=""), env={}))
    search = db.session.query(Component).filter_by(slug="search").one()
    clock(T("2026-03-20 10:00"))
    set_check_status(search, "major_outage")
    db.session.commit()
    clock(T("2026-03-20 10:30"))
    set_check_status(search, "operational")
    db.session.commit()
    return search


def test_the_start_date_is_the_local_day_it_was_added(added):
    assert str(added.start_date) == "2026-03-16"


def test_every_surface_says_since_monitoring_began(added, app, client, clock, tmp_path):
    clock(T("2026-04-02 10:00"))
    read = s.read_public(app, client, "search", tmp_path, account="G-1")
    # Monitored 03-16 08:00 → 04-02 10:00 UTC = 17 days 2 hours = 24,600 minutes: 1 − 30/24,600 = 99.878…%.
    assert set(s.ninety_day_figures(read, "search").values()) == {"99.87%"}
    assert s.ninety_day_words(read, "search") == {"99.87% uptime over the 17 days since monitoring began"}
    windows = s.from_component_page(read.component)
    assert (windows["7"].figure, windows["7"].words) == ("100.00%", "")  # 03-27 → now: fully monitored
    assert (windows["30"].figure, windows["30"].words) == ("99.87%", "Over the 17 days since monitoring began")
    days = {label.split(":")[0]: (cls, label) for cls, label in s.bars(read.index, "search")}
    assert days["Mar 15, 2026"] == ("nd", "Mar 15, 2026: no data (not monitored)")
    # The first day: monitored from 09:00 CET, 15 of its 24 hours.
    assert days["Mar 16, 2026"] == ("op", "Mar 16, 2026: operational, 100.00% uptime (monitored 15 hours of the day)")
    assert days["Mar 20, 2026"] == ("ma", "Mar 20, 2026: Major Outage, 97.91% uptime")  # 1 − 30/1,440


def test_the_march_sla_has_insufficient_data_until_the_minimum_coverage_allows_a_verdict(added, app, client,
                                                                                           runner, clock):
    clock(T("2026-04-02 10:00"))
    rows = s.sla_everywhere(app, client, runner, "G-1", "2026-03-01", "2026-03-31")
    # 1 − 30/22,440 = 99.866…% → 99.86%, below the 99.9 target — but only 50.33 % of March was monitored.
    s.assert_sla_row_agrees(rows, uptime="99.86%", coverage="50.33%",
                            verdict_text="insufficient data (coverage 50.33%)", credit=0.0,
                            monitored_minutes=22440, period_minutes=44580)
    assert rows["api"]["met"] is None and rows["api"]["breached"] is False and rows["api"]["verdict"] == "insufficient_data"
    assert "coverage is at least 90%" in rows["html"]["page"]

    apply_config(parse_config(CONFIG.format(extra="  min_coverage_percent: 50"), env={}))
    rows = s.sla_everywhere(app, client, runner, "G-1", "2026-03-01", "2026-03-31")
    s.assert_sla_row_agrees(rows, uptime="99.86%", coverage="50.33%", verdict_text="breached", credit=10.0,
                            monitored_minutes=22440, period_minutes=44580)
    assert "coverage is at least 50%" in rows["html"]["page"]


def test_the_private_view_says_the_month_has_too_little_data_for_a_verdict(added, client, clock):
    from statuspage.services.accounts.private_links import account_view_token
    from statuspage.services.accounts.records import get_account

    clock(T("2026-03-20 12:00"))
    card = s.sla_card(client.get(f"/a/{account_view_token(get_account('G-1'))}").get_data(as_text=True))
    # March so far: monitored 03-16 08:00 → 03-20 12:00 UTC = 6,000 minutes of 44,580 = 13.45…%.
    assert card["verdict_attr"] == "insufficient_data" and card["verdict"] == "Not enough data yet"
    assert card["uptime"] == "99.50%"  # 1 − 30/6,000
    assert "uptime so far (13.45% of the month monitored)" in " ".join(card["text"].split())


@pytest.mark.parametrize("value", ["-1", "101", "lots"])
def test_a_bad_minimum_coverage_is_refused_at_load(value):
    with pytest.raises(ConfigFileError, match="sla.min_coverage_percent"):
        parse_config(CONFIG.format(extra=f"  min_coverage_percent: {value}"), env={})
