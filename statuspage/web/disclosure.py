"""What each role may see of the secrets that some stored values carry.

Webhook URLs are bearer secrets (a Slack hook URL lets anyone post to the channel) and may carry
``user:password``; check targets may carry credentials too. Admins and write tokens (which act as
admin) see them whole; every other role and read tokens see them masked (``statuspage.outbound``):
a webhook URL keeps its scheme, host and first path segment, a check target loses its credentials
and query values. Searching by URL is for admins only, or the search would reveal a URL one
character at a time.
"""

from __future__ import annotations

from flask import Flask

from ..outbound import mask_credentials, mask_url
from .authz import current_actor


def sees_secrets() -> bool:
    """Whether whoever makes this request may see stored URLs whole (admins and write tokens)."""
    return current_actor().role == "admin"


def shown_webhook_url(url: str | None) -> str | None:
    """A webhook URL as this request may see it."""
    return url if sees_secrets() else mask_url(url)


def shown_target(target: str | None) -> str | None:
    """A check target as this request may see it."""
    return target if sees_secrets() else mask_credentials(target)


def shown_recipient(channel: str, recipient: str | None) -> str | None:
    """An outbox recipient: an email address as is, a webhook URL as this request may see it."""
    return shown_webhook_url(recipient) if channel == "webhook" else recipient


def register_disclosure_filters(app: Flask) -> None:
    """Jinja filters for console templates: ``webhook_url``, ``check_target``."""
    app.jinja_env.filters["webhook_url"] = shown_webhook_url
    app.jinja_env.filters["check_target"] = shown_target
