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
from ..services.accounts.sla import formula_text, parse_period, sla_report
from ..services.page import get_page
from ..services.site import public as ps
from ..services.uptime import BAR_DAYS, Weights, format_percent, uptime_bars

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
    from .public import _day_incident_names, bars_html

    try:
        acc = svc.account_from_view_token(token)
    except svc.LinkRevoked:
        return _private(render_template("public/account_gone.html", page=get_page()), 410)
    if acc is None:
        abort(404)
    page = get_page()
    now = utcnow()
    weights = Weights.from_page()
    components = sorted((ac.component for ac in acc.components if ac.component.archived_at is None),
                        key=lambda c: (c.position, c.id))
    bars = uptime_bars(components, now, weights=weights)
    names = _day_incident_names(components, now.date() - dt.timedelta(days=BAR_DAYS - 1), now) if components else {}
    rows = {c.id: {"bars": bars_html(c, bars[c.id], names, labelled=True), "uptime": format_percent(bars[c.id].uptime(weights))}
            for c in components}
    start, end = parse_period(None, None, now=now)
    sla = sla_report(start, end, accounts=[acc.external_id], now=now).row(acc.external_id)
    incidents = sorted(ps.incidents_overlapping(now - dt.timedelta(days=BAR_DAYS), now + dt.timedelta(days=1),
                                                [c.id for c in components]),
                       key=lambda i: ps.incident_time(i), reverse=True)
    open_incidents = [i for i in incidents if i.resolved_at is None]
    status = max((c.status for c in components), key=lambda s: ps.severity(s), default="operational")
    body = render_template(
        "public/account.html", page=page, account=acc, components=components, rows=rows, sla=sla,
        month=start.astimezone(get_page().tz).strftime("%B %Y"), incidents=incidents, open_incidents=open_incidents,
        overall=status, bar_days=BAR_DAYS, formula=formula_text(weights), latest_update=ps.latest_public_update,
        impact_labels=ps.IMPACT_LABELS, format_percent=format_percent)
    return _private(body)
