"""The private status page of one account: /a/<signed token>.

Shows only the account's components (status, 90-day bars), the incidents that touched them and its
uptime this month against its SLA. The token is signed with SECRET_KEY and carries the account's
view_token_version, so bumping the version revokes every link issued so far (410 Gone). Never cached
by shared caches, never indexed, never sent on in a Referer.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, make_response, render_template

from ..db import utcnow
from ..services.accounts import private_links as svc
from ..services.accounts.regional import regional_failures
from ..services.accounts.sla import formula_text, parse_period, rules_text, sla_report
from ..services.page import get_page
from ..services.site import public as ps
from ..services.uptime import BAR_DAYS, Weights, uptime_clock
from .public import component_rows

bp = Blueprint("account_view", __name__)

PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store, max-age=0",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


def _private(body: str, status: int = 200):
    resp = make_response(body, status)
    resp.headers.update(PRIVATE_HEADERS)
    return resp


@bp.get("/a/<token>")
def view(token: str):
    try:
        acc = svc.account_from_view_token(token)
    except svc.LinkRevoked:
        return _private(render_template("public/account_gone.html", page=get_page()), 410)
    if acc is None:
        abort(404)
    page = get_page()
    now = uptime_clock()
    weights = Weights.from_page()
    components = sorted((ac.component for ac in acc.components if ac.component.archived_at is None),
                        key=lambda c: (c.position, c.id))
    rows = component_rows(components, now, weights, page.tz, labelled=True)
    start, end = parse_period(None, None, now=now)
    report = sla_report(start, end, accounts=[acc.external_id], now=now)
    sla = report.row(acc.external_id)
    incidents = sorted(ps.incidents_overlapping(now - dt.timedelta(days=BAR_DAYS), now + dt.timedelta(days=1),
                                                [c.id for c in components]),
                       key=lambda i: ps.incident_time(i), reverse=True)
    open_incidents = [i for i in incidents if i.resolved_at is None]
    status = max((c.status for c in components), key=lambda s: ps.severity(s), default="operational")
    month = start.astimezone(page.tz).strftime("%B %Y")
    latest = utcnow()
    regional = [(f, f.sentence(page.tz, latest)) for f in regional_failures(acc, latest)]
    body = render_template(
        "public/account.html", page=page, account=acc, components=components, rows=rows, sla=sla,
        month=month, regional=regional, shown=ps.shown_statuses(components), incidents=incidents, open_incidents=open_incidents, overall=status, bar_days=BAR_DAYS,
        formula=formula_text(weights), rules=rules_text(report.min_coverage, report.ladder, credits=False),
        latest_update=ps.latest_public_update, impact_labels=ps.IMPACT_LABELS, as_of=now)
    return _private(body)
