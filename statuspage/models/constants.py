"""The vocabulary of the domain. Status words are Atlassian Statuspage's, so /api/v2 stays compatible."""

COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
# Higher is worse; maintenance ranks below outages so a real outage inside a window still shows.
STATUS_SEVERITY = {
    "operational": 0,
    "under_maintenance": 1,
    "degraded_performance": 2,
    "partial_outage": 3,
    "major_outage": 4,
}


def worst_status(statuses) -> str:
    """The most severe of some component statuses (operational when there are none)."""
    result = "operational"
    for s in statuses:
        if STATUS_SEVERITY[s] > STATUS_SEVERITY[result]:
            result = s
    return result


STATUS_LABELS = {
    "operational": "Operational",
    "degraded_performance": "Degraded Performance",
    "partial_outage": "Partial Outage",
    "major_outage": "Major Outage",
    "under_maintenance": "Under Maintenance",
}
# Not a component status: what the public sees instead of "Operational" while a component's checks are
# probed from too few fresh locations to decide (Check.monitoring_delayed) — never stored, never in /api/v2.
MONITORING_DELAYED = "monitoring_delayed"
SHOWN_STATUS_LABELS = {**STATUS_LABELS, MONITORING_DELAYED: "Monitoring data delayed"}
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed", "cancelled")
# The one status vocabulary: an incident is open until resolved; a maintenance is open until it ends,
# and active (its components under maintenance) while in progress or verifying.
OPEN_INCIDENT_STATUSES = ("investigating", "identified", "monitoring")
CLOSED_INCIDENT_STATUSES = ("resolved", "postmortem")
ACTIVE_MAINTENANCE_STATUSES = ("in_progress", "verifying")
OPEN_MAINTENANCE_STATUSES = ("scheduled", *ACTIVE_MAINTENANCE_STATUSES)
OPEN_STATUSES = {"incident": OPEN_INCIDENT_STATUSES, "maintenance": OPEN_MAINTENANCE_STATUSES}
IMPACTS = ("none", "minor", "major", "critical", "maintenance")
STATUS_SOURCES = ("check", "incident", "maintenance", "manual")
ROLES = ("admin", "responder", "account_manager", "viewer")
CAUSE_CATEGORIES = (
    "change",
    "capacity",
    "dependency",
    "infrastructure",
    "network",
    "configuration",
    "security",
    "data",
    "unknown",
)
CAUSE_LABELS = {
    "change": "Change / deploy",
    "capacity": "Capacity",
    "dependency": "Dependency / third party",
    "infrastructure": "Infrastructure",
    "network": "Network",
    "configuration": "Configuration",
    "security": "Security",
    "data": "Data",
    "unknown": "Unknown",
}
AUTO_INCIDENT_MODES = ("off", "draft", "publish")
CONTACT_NOTIFY = ("all", "major", "none")
# What each setting means, in the console's words (account page, account form).
CONTACT_NOTIFY_LABELS = {"all": "every incident and maintenance", "major": "major incidents only", "none": "nothing"}
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
