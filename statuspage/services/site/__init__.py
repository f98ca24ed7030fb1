"""The public site: its read model (what the trust page, API and feeds show) and the static export."""
