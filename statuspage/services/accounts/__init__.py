"""Customer accounts: records, CSV import, incident impact, outreach, watches, private links, SLA."""
