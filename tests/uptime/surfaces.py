"""Read one component's uptime, and one account's SLA row, off every surface that shows them.

Each reader returns what a person (or a script) would read there, so a test can compare surfaces with
each other and with hand-computed figures:

* trust page ``/`` (the legend figure, the coverage note, the screen-reader sentence);
* the component page (the 7/30/90-day windows and the legend);
* the uptime badge (the value, the label, the accessible sentence);
* the private account view ``/a/<token>`` (the component's figure and the month's SLA card);
* the static export (the same three pages, read from files);
* the SLA report in the console (HTML row), its CSV and JSON downloads, ``/api/v1/sla`` and the CLI.
"""

from __future__ import annotations

import csv
import html as htmllib
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import User
from statuspage.services.accounts.private_links import account_view_token
from statuspage.services.accounts.records import get_account
from statuspage.services.site.export import export_site
from statuspage.services.users import create_token
from tests.support import factories as f
from tests.support.console import login

SVG = "{http://www.w3.org/2000/svg}"


def _component_block(page: str, slug: str) -> str:
    return page.split(f'data-component="{slug}"', 1)[1].split("</li>", 1)[0]


def _unescape(text: str) -> str:
    return htmllib.unescape(text)


@dataclass
class Row:
    """A component's figure as one surface shows it."""

    figure: str
    words: str = ""  # what the figure covers, in words, where the surface says it


def from_index(page: str, slug: str) -> Row:
    block = _component_block(page, slug)
    figure = re.search(r'data-uptime="([^"]+)"', block).group(1)
    sentence = _unescape(re.search(r'<p class="visually-hidden">[^:]+: ([^<]+)\.</p>', block).group(1))
    return Row(figure, sentence)


def bars(page: str, slug: str) -> list[tuple[str, str]]:
    """(css class, label) of each day bar of a component, oldest first."""
    block = _component_block(page, slug) if f'data-component="{slug}"' in page else page
    return [(c, _unescape(label)) for c, label in
            re.findall(r'<span class="bar b-(\w+)" data-label="([^"]+)"', block)]


def from_component_page(page: str) -> dict[str, Row]:
    """'7', '30', '90' (the windows) and 'legend' → figure and words."""
    out = {}
    for days, body in re.findall(r'<div data-window="(\d+)">(.*?)</div>', page, re.S):
        figure = re.search(r"<dd>([^<]+)</dd>", body).group(1)
        note = re.search(r'coverage-note">([^<]+)<', body)
        out[days] = Row(figure, _unescape(note.group(1)) if note else "")
    legend = re.search(r'class="uptime-figure" data-uptime="([^"]+)"', page).group(1)
    sentence = _unescape(re.search(r'<p class="visually-hidden">[^:]+: ([^<]+)\.</p>', page).group(1))
    out["legend"] = Row(legend, sentence)
    return out


def from_badge(svg: bytes | str) -> Row:
    root = ET.fromstring(svg)
    label, value = [t.text for t in root.iter(f"{SVG}text")]
    return Row(value, root.get("aria-label") + " | " + label)


def from_private_view(page: str, slug: str) -> Row:
    return from_index(page, slug)


def sla_card(page: str) -> dict[str, str]:
    """The private view's month card: figure, note under it, verdict."""
    card = page.split('class="card sla-card"', 1)[1].split("</section>", 1)[0]
    numbers = re.findall(r'class="sla-number">([^<]+)<', card)
    verdict = re.search(r'class="sla-verdict[^"]*">([^<]+)<', card)
    return {"verdict_attr": re.search(r'data-verdict="([^"]*)"', page).group(1),
            "uptime": numbers[0] if numbers else "", "target": numbers[1] if len(numbers) > 1 else "",
            "verdict": verdict.group(1).strip() if verdict else "",
            "text": _unescape(re.sub(r"<[^>]+>", " ", card))}


@dataclass
class Surfaces:
    """Everything public and private that shows uptime, read at one instant (the caller freezes time)."""

    index: str
    component: str
    badge: bytes
    private: str | None
    exported_index: str
    exported_component: str
    exported_badge: bytes


def read_public(app, client, slug: str, tmp_path: Path, account: str | None = None) -> Surfaces:
    """Render every surface (and a static export) of ``slug`` now."""
    private = None
    if account is not None:
        token = account_view_token(get_account(account))
        resp = client.get(f"/a/{token}")
        assert resp.status_code == 200
        private = resp.get_data(as_text=True)
    out = tmp_path / "export"
    export_site(app, out)
    return Surfaces(
        index=client.get("/").get_data(as_text=True),
        component=client.get(f"/components/{slug}").get_data(as_text=True),
        badge=client.get(f"/badge/{slug}/uptime.svg").get_data(),
        private=private,
        exported_index=(out / "index.html").read_text(),
        exported_component=(out / f"components/{slug}/index.html").read_text(),
        exported_badge=(out / f"badge/{slug}/uptime.svg").read_bytes())


def ninety_day_figures(s: Surfaces, slug: str) -> dict[str, str]:
    """The 90-day figure of ``slug`` on every surface (must all be equal)."""
    out = {"index": from_index(s.index, slug).figure,
           "component": from_component_page(s.component)["90"].figure,
           "component legend": from_component_page(s.component)["legend"].figure,
           "badge": from_badge(s.badge).figure,
           "export index": from_index(s.exported_index, slug).figure,
           "export component": from_component_page(s.exported_component)["90"].figure,
           "export badge": from_badge(s.exported_badge).figure}
    if s.private is not None:
        out["private view"] = from_private_view(s.private, slug).figure
    return out


def ninety_day_words(s: Surfaces, slug: str) -> set[str]:
    """What the 90-day figure covers, in words, as the trust page, component page and badge say it."""
    return {from_index(s.index, slug).words, from_component_page(s.component)["legend"].words,
            from_badge(s.badge).words.split(": ", 1)[1].split(" | ")[0]}


# --- the SLA report ---------------------------------------------------------------------------------------


def sla_everywhere(app, client, runner, account: str, first: str, last: str) -> dict[str, dict]:
    """One account's SLA row from the console page, CSV, JSON, /api/v1/sla and the CLI (text and JSON)."""
    email = f"viewer-{account.lower()}@acme.test"
    login(client, db.session.scalar(select(User).where(User.email == email)) or f.user("viewer", email))
    query = f"from={first}&to={last}&account={account}"
    html = client.get(f"/admin/sla?{query}").get_data(as_text=True)
    row_html = html.split(f'<tr data-account="{account}"', 1)[1].split("</tr>", 1)[0]
    cells = {k: _unescape(re.sub(r"<[^>]+>", " ", v)).split() for k, v in
             re.findall(r'data-col="(\w+)">(.*?)</td>', row_html, re.S)}
    csv_rows = list(csv.DictReader(io.StringIO(client.get(f"/admin/sla?{query}&format=csv").get_data(as_text=True))))
    console_json = client.get(f"/admin/sla?{query}&format=json").json
    _, secret = create_token(f"sla-{account}", "read")
    api = client.get(f"/api/v1/sla?from={first}&to={last}&account={account}",
                     headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200, api.get_data(as_text=True)
    cli_json = runner.invoke(args=["sla", "report", "--from", first, "--to", last, "--account", account,
                                   "--format", "json"])
    assert cli_json.exit_code == 0, cli_json.output
    cli_text = runner.invoke(args=["sla", "report", "--from", first, "--to", last, "--account", account,
                                   "--format", "text"])
    assert cli_text.exit_code == 0, cli_text.output
    return {"html": {"cells": cells, "page": _unescape(html)}, "csv": csv_rows[0],
            "console json": console_json["accounts"][0], "console report": console_json,
            "api": api.json["accounts"][0], "cli": json.loads(cli_json.output)["accounts"][0],
            "cli text": {"text": cli_text.output}}


def assert_sla_row_agrees(rows: dict[str, dict], *, uptime: str, coverage: str, verdict_text: str,
                          credit: float, monitored_minutes: float, period_minutes: float) -> None:
    """The same row on every SLA surface: uptime and coverage (rounded down, two decimals), result, credit."""
    for name in ("console json", "api", "cli"):
        row = rows[name]
        assert (f"{row['uptime_percent']:.2f}%" if row["uptime_percent"] is not None else "—") == uptime, name
        assert f"{row['coverage_percent']:.2f}%" == coverage, name
        assert row["verdict_text"] == verdict_text, name
        assert row["credit_percent"] == credit, name
        assert (row["monitored_minutes"], row["period"]["minutes"]) == (monitored_minutes, period_minutes), name
    c = rows["csv"]
    assert (c["uptime_percent"] + "%", c["coverage_percent"] + "%", c["result"]) == (uptime, coverage, verdict_text)
    assert float(c["credit_percent"]) == credit
    assert (float(c["monitored_minutes"]), float(c["period_minutes"])) == (monitored_minutes, period_minutes)
    cells = rows["html"]["cells"]
    assert cells["uptime"] == [uptime] and cells["coverage"][0] == coverage
    assert " ".join(cells["result"]) in (verdict_text, "no SLA")
    assert cells["credit"] == ([f"{credit:g}%"] if credit else ["—"])
    text = rows["cli text"]["text"]
    assert f"uptime {uptime}" in text and f"result: {verdict_text}" in text and f"(coverage {coverage})" in text
    for page in (rows["html"]["page"], text):  # the formula and the rules are printed on the report
        assert "Uptime = 1 − (major-outage minutes" in page and "A verdict and a credit are given only when" in page
