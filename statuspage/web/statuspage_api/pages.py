"""``/pages``: this installation is one page; its id is the page's public id."""

from __future__ import annotations

from flask import jsonify

from ...services.page import get_page
from ...services.page_settings import update_page_settings
from ..authz import current_actor
from .core import route
from .forms import Fields, request_body
from .serializers import page_json

# Documented page[...] fields we cannot honour (branding, CSS, subscriber channels, ...) are ignored.
# Statuspage's `url` is the company's website, `domain` the status page's own host: ours comes from
# STATUSPAGE_PUBLIC_URL or the config file, not from the API.
PAGE_IGNORED = ("url", "domain", "subdomain", "branding", "hidden_from_search", "viewers_must_be_team_members",
                "allow_page_subscribers", "allow_incident_subscribers", "allow_email_subscribers",
                "allow_sms_subscribers", "allow_rss_atom_feeds", "allow_webhook_subscribers",
                "notifications_from_email", "notifications_email_footer", "css_body_background_color",
                "css_font_color", "css_light_font_color", "css_greens", "css_yellows", "css_oranges", "css_reds",
                "css_blues", "css_border_color", "css_graph_color", "css_link_color", "css_no_data")


@route("/pages")
def pages_list():
    return jsonify([page_json(get_page())])


@route("/pages/<spid:page_id>")
def page_get():
    return jsonify(page_json(get_page()))


@route("/pages/<spid:page_id>", methods=("PATCH", "PUT"), scope="write")
def page_update():
    f = Fields.envelope(request_body(), "page", known=("name", "time_zone"), ignored=PAGE_IGNORED)
    page = update_page_settings(actor=current_actor(), name=f.text("name", max_len=200),
                                time_zone=f.text("time_zone", max_len=64))
    return jsonify(page_json(page))
