"""/api/v1, the management API (JSON only), one module per domain:

========================  ==============================================================
``components``            components, component groups, checks (manual status, silence)
``incidents``             incidents and their updates (Statuspage's body shape)
``maintenance``           scheduled maintenance windows
``postmortems``           postmortems and action items
``subscribers``           subscribers and the outbox
``accounts``              customer accounts, affected accounts, SLA reports
``locations``             probe locations: freshness, lag, agent, buffer (read only)
``probe``                 the probe agents' own API (probe tokens, one location each)
``serializers``           the JSON shapes; ``openapi`` documents them and every route
========================  ==============================================================

Authentication: ``Authorization: Bearer <token>`` or ``OAuth <token>`` (Statuspage's scheme), or a
console session (writes then need ``X-CSRFToken``). Writes demand ``Content-Type: application/json``.
Lists page with ``page``/``per_page`` (``limit``/``offset`` as aliases) and say so in ``Link`` and
``X-Total-Count``. Every refusal is ``{"error": {"code", "message", "fields"}}`` with one of the
toolkit's codes (``web/api/toolkit.py`` ``CODES``). A POST with ``Idempotency-Key`` answers a retry
with the stored response.
"""

from . import (  # noqa: F401 (routes)
    accounts,
    components,
    incidents,
    locations,
    maintenance,
    postmortems,
    probe,
    subscribers,
)
from .blueprint import bp

__all__ = ["bp"]
