"""Outbox delivery: claim due rows, send them over one reused connection, record every outcome.

``deliver.deliver_outbox`` is the job; ``claim`` reserves rows exactly once across workers,
``prepare`` renders them (once per notification, personalised per recipient), ``send`` writes mail
on one SMTP session in its own thread, ``record`` commits outcomes in small groups. A message is sent
only with a permit that comes back when its outcome is committed, so a crash re-sends at most
``record.MAX_UNRECORDED`` messages and never loses a row.
"""
