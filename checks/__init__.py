"""The probe engine: pure Python, no Flask, no database.

Modules: ``spec`` (validated check specifications), ``conditions`` (the
condition language), ``probes`` (http, tcp, dns, tls on asyncio — aiohttp,
asyncio streams, dnspython's async resolver — and heartbeat), ``runner``
(thousands of probes in flight on one event loop, each under a hard
deadline), ``deadline``, ``state`` (thresholds and flap detection),
``durations`` and ``errors``.
"""
