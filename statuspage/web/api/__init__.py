"""The JSON APIs we own: ``toolkit`` (body and field parsing, the one error shape and set of codes,
pagination, the unknown-query guard), ``idempotency`` (the ``Idempotency-Key`` header) and ``v1``
(/api/v1, one module per domain). Import-light on purpose: ``web.authz`` imports the toolkit.
"""
