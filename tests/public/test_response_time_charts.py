"""Response-time charts (p50/p95 over 24 h, 7 d, 90 d) on public component pages and the console's check
page: server-rendered SVG with a title, a description and a table; with data, and with none."""

import datetime as dt

import time_machine
from lxml import html as lxml_html

from statuspage.extensions import db
from statuspage.models import CheckRollup
from statuspage.services.monitoring.latency import latency_series
from statuspage.services.monitoring.rollups import bucket_upper_ms, fold_run, latency_bucket
from tests.support import factories as f
from tests.support.console import login

NOW = f.T("2026-03-10 12:30")


def _rollup(check, period, start, runs, p50, p95):
    db.session.add(CheckRollup(check_id=check.id, period=period, period_start=start, runs=runs, failures=0,
                               degraded=0, p50_ms=p50, p95_ms=p95))


def _measured_check(comp, slug="api-http"):
    check = f.make_check(comp, slug=slug)
    for h in range(1, 24 * 7):
        if h in (30, 31):
            continue  # two hours without measurements: a gap in the 7-day chart
        _rollup(check, "hour", NOW.replace(minute=0) - dt.timedelta(hours=h), 120, 100.0 + h % 5, 300.0)
    for d in range(1, 90):
        _rollup(check, "day", NOW.replace(hour=0, minute=0) - dt.timedelta(days=d), 2880, 110.0, 320.0)
    stats = None
    for m in range(0, 30, 10):  # the hour still running: folded into the check's hour_stats, as the worker does
        at = NOW.replace(minute=0) + dt.timedelta(minutes=m)
        stats, _ = fold_run(check.id, stats, at, "up", 900.0)
    check.hour_stats = stats
    db.session.commit()
    return check


def _charts(html: str):
    doc = lxml_html.fromstring(html)
    return doc.xpath('//section[contains(@class, "latency")]//figure')


def test_the_component_page_draws_three_windows_with_title_description_and_table(app, client):
    f.page(time_zone="UTC")
    api = f.component("Public API", "api")
    _measured_check(api)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/components/api").get_data(as_text=True)
    figures = _charts(html)
    assert [fig.get("data-window") for fig in figures] == ["24h", "7d", "90d"]
    for fig in figures:
        svg = fig.xpath(".//svg")[0]
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.xpath(f'.//*[@id="{title_id}"]')[0].text.startswith("Response time of Public API")
        desc = svg.xpath(f'.//*[@id="{desc_id}"]')[0].text
        assert "median response time" in desc and "95th percentile" in desc
        assert svg.xpath(".//*[local-name()='polyline' and @class='lat-p50']")
        assert fig.xpath(".//details//table//tbody/tr")
    day = figures[0]
    # the hour still running (three runs at 900 ms) is the slowest hour of the day; its percentile comes
    # from the hour's latency histogram, so it reads as the upper bound of 900 ms's 5 % bucket (917 ms)
    slowest = round(bucket_upper_ms(latency_bucket(900.0)))
    assert f"The slowest hour was Mar 10, 12:00 ({slowest} ms" in day.xpath(".//desc")[0].text
    assert len(day.xpath(".//tbody/tr")) == 24
    week = figures[1]
    assert len(week.xpath(".//*[local-name()='polyline' and @class='lat-p50']")) == 2  # split by the gap
    assert "166 of 168 hours have measurements" in week.xpath(".//desc")[0].text
    assert len(week.xpath(".//tbody/tr")) == 7  # the table shows the week by day
    assert len(figures[2].xpath(".//tbody/tr")) == 13  # and 90 days by week
    assert "No data yet" not in html


def test_a_checked_component_without_measurements_says_no_data_and_one_without_checks_has_no_chart(app, client):
    api = f.component("Public API", "api")
    f.make_check(api, slug="api-http")
    f.component("Docs", "docs")
    html = client.get("/components/api").get_data(as_text=True)
    figures = _charts(html)
    assert len(figures) == 3
    for fig in figures:
        assert "No data yet" in fig.text_content()
        assert "No response times were measured for Public API" in fig.xpath(".//desc")[0].text
        assert not fig.xpath(".//details")
    assert _charts(client.get("/components/docs").get_data(as_text=True)) == []


def test_the_console_check_page_charts_the_check_and_not_a_heartbeat(app, client):
    api = f.component("Public API", "api")
    _measured_check(api)
    beat = f.make_check(api, slug="nightly")
    beat.kind = "heartbeat"
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, "viewer")
        figures = _charts(client.get("/admin/checks/api-http").get_data(as_text=True))
        assert [fig.get("data-window") for fig in figures] == ["24h", "7d", "90d"]
        assert "check api-http" in figures[0].xpath(".//title")[0].text
        assert _charts(client.get("/admin/checks/nightly").get_data(as_text=True)) == []


def test_several_checks_combine_weighted_by_their_runs(app):
    api = f.component("Public API", "api")
    one, two = f.make_check(api, slug="one"), f.make_check(api, slug="two")
    hour = NOW.replace(minute=0) - dt.timedelta(hours=2)
    _rollup(one, "hour", hour, 30, 100.0, 200.0)
    _rollup(two, "hour", hour, 10, 300.0, 600.0)
    db.session.commit()
    day, week, quarter = latency_series([one.id, two.id], NOW)
    point = next(p for p in day.points if p.start == hour)
    assert (point.runs, point.p50_ms, point.p95_ms) == (40, 150.0, 300.0)
    assert day.p50_ms == 150.0 and week.p95_ms == 300.0
    assert quarter.points[-1].runs == 40  # today, not yet a daily rollup, from today's hours
    assert sum(1 for p in day.points if p.runs) == 1
