"""The service layer: the only place state transitions happen.

Packages by domain, lowest first (a package imports only those above it in this list; a test,
``tests/foundation/test_layering.py``, keeps it so and forbids imports of ``statuspage.web``):

* ``audit``, ``page`` — who did what; the page's settings, public URL and site version.
* ``uptime`` — uptime and coverage from component status intervals and daily rollups.
* ``accounts/`` — customer account records, CSV import, incident impact, outreach, watches,
  private links, SLA reports.
* ``notifications/`` — events to outbox rows, content, subscribers and their links, account and
  on-call mail, and the outbox's delivery (claim / prepare / send / record).
* ``incidents/`` — incident lifecycle, auto-incidents, maintenance, postmortems, component status,
  templates, reports.
* ``monitoring/`` — claiming and recording checks, the scheduler loop, rollups, alerts, self-check.
* ``site/`` — the public site's read model and the static export.
* ``config_sync``, ``users``, ``idempotency``, ``recovery`` — config as code, people and tokens,
  API idempotency keys, taking over a crashed worker's claims.

The commit rule: a service function that changes state owns its transaction and commits (or joins
the caller's transaction when its docstring says so, e.g. the checks engine's); views, CLI commands
and worker jobs never commit.
"""
