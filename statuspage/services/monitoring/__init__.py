"""Checks in the database: claiming, recording results, the scheduler loop, rollups, alerts, self-check."""
