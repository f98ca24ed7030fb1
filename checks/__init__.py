"""The probe engine: pure Python, no Flask, no database.

Modules: ``spec`` (validated check specifications), ``conditions`` (the
condition language), ``probes`` (http, tcp, dns, tls, heartbeat), ``runner``
(concurrent execution with hard deadlines), ``state`` (thresholds and flap
detection), ``durations`` and ``errors``.
"""
