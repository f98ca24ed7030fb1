"""The trust page `/`: banner, groups, uptime bars, incidents, maintenance, past days."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

from statuspage.extensions import db
from statuspage.services.incidents.status import set_check_status


def html(client, url="/"):
    resp = client.get(url)
    assert resp.status_code == 200, url
    return resp.get_data(as_text=True)


def test_it_shows_the_overall_status_and_the_active_incident_with_its_latest_public_update(site, client):
    page = html(client)
    assert re.search(r'<h1 class="banner-title"[^>]*>Partial System Outage</h1>', page)
    assert "API errors" in page
    assert "Identified a bad deploy; rolling back." in page  # latest public update
    assert "10.0.0.5" not in page  # the internal note never shows


def test_it_lists_groups_components_and_hides_internal_ones(site, client):
    page = html(client)
    assert "Core platform" in page and "Public API" in page and "CDN" in page
    assert "Backups" not in page
    assert 'data-component="api"' in page


def test_each_component_has_90_day_bars_with_labels_behind_one_tab_stop(site, client):
    page = html(client)
    block = page.split('data-component="api"', 1)[1].split("</li>", 1)[0]
    bars = re.findall(r'<span class="bar b-(\w+)" data-label="([^"]+)"></span>', block)
    assert len(bars) == 90
    # The strip is one link to the day-by-day table; no day is a tab stop of its own.
    assert 'tabindex' not in block
    strip = re.search(r'<a class="bars" href="/components/api#day-by-day" aria-label="([^"]+)">', block)
    assert strip and strip.group(1).startswith("Public API: ") and "uptime" in strip.group(1)
    today = site.now.astimezone(ZoneInfo("Europe/Berlin")).date()  # bars are local days of the page's zone
    last_class, last_label = bars[-1]
    assert last_class == "pa"  # partial outage today
    assert last_label.startswith(f"{today.strftime('%b')} {today.day}, {today.year}: Partial Outage")
    assert "API errors" in last_label  # that day's incidents
    assert bars[0] == ("nd", bars[0][1]) and bars[0][1].endswith("no data (not monitored)")  # before it existed
    assert "uptime" in block and "%" in block


def test_the_uptime_formula_is_stated(site, client):
    page = html(client)
    assert ("Uptime = 1 − (major-outage minutes + 0.3 × partial-outage minutes) ÷ (monitored minutes − "
            "scheduled-maintenance minutes)") in page
    assert "Only monitored time counts" in page and "rounded down to two decimals" in page
    assert "Each bar is one day in Europe/Berlin (CET/CEST)" in page


def test_it_shows_active_and_upcoming_maintenance_but_not_cancelled(site, client):
    page = html(client)
    assert "Network maintenance" in page and "Database upgrade" in page
    assert "Cancelled window" not in page
    assert "Draft: something odd" not in page


def test_past_incidents_cover_14_days_with_no_incidents_days(site, client):
    page = html(client)
    past = page.split('id="past-heading"', 1)[1]
    assert past.count('class="past-date"') == 14
    assert "Login failures" in past
    assert "No incidents reported." in past


def test_times_are_in_the_page_time_zone_with_its_abbreviation(site, client):
    page = html(client)
    assert re.search(r"\d\d:\d\d CES?T<", page) and "UTC+" not in page
    assert "Times shown in Europe/Berlin (CET/CEST)" in page


def test_all_systems_operational_when_nothing_is_wrong(app, client):
    from tests.support.factories import component

    c = component("API", since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    db.session.commit()
    assert "All Systems Operational" in html(client)
    set_check_status(c, "major_outage")
    db.session.commit()
    assert "Major System Outage" in html(client)


def test_only_show_if_degraded_components_appear_when_degraded(app, client):
    from tests.support.factories import component

    c = component("Hidden until broken", only_show_if_degraded=True)
    db.session.commit()
    assert "Hidden until broken" not in html(client)
    set_check_status(c, "degraded_performance")
    db.session.commit()
    assert "Hidden until broken" in html(client)


def test_the_page_works_without_javascript_and_loads_nothing_external(site, client):
    page = html(client)
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
