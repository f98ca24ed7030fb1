"""Incidents and maintenance: lifecycle, auto-incidents, component status, postmortems, templates, reports."""
