"""The domain model. Every table of the product is declared here (one module per area)."""

from .accounts import (
    Account,
    AccountComponent,
    AccountContact,
    AccountOutreach,
    AccountTeamMember,
    AccountWatch,
)
from .audit import AuditLog
from .checks import Check, CheckLocation, CheckResult, CheckRollup, ProbeLocation
from .components import (
    Component,
    ComponentGroup,
    ComponentMonitoringDelay,
    ComponentStatusInterval,
    ComponentUptimeDay,
)
from .constants import (
    CAUSE_CATEGORIES,
    COMPONENT_STATUSES,
    IMPACTS,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    ROLES,
    STATUS_SEVERITY,
)
from .imports import ImportMapping
from .incidents import (
    ActionItem,
    Incident,
    IncidentCheck,
    IncidentComponent,
    IncidentUpdate,
    IncidentUpdateComponent,
    Postmortem,
    UpdateTemplate,
)
from .outbox import OutboxMessage
from .site import IdempotencyKey, MonitoringGap, Page, RateLimitCounter, SiteVersion, WorkerHeartbeat
from .subscribers import Subscriber, SubscriberComponent
from .users import ApiToken, User

__all__ = [
    "Account", "AccountComponent", "AccountContact", "AccountOutreach", "AccountTeamMember", "AccountWatch",
    "ActionItem", "ApiToken", "AuditLog", "CAUSE_CATEGORIES", "COMPONENT_STATUSES", "Check", "CheckLocation",
    "CheckResult", "CheckRollup", "Component", "ComponentGroup", "ComponentMonitoringDelay", "ComponentStatusInterval", "ComponentUptimeDay",
    "IMPACTS", "INCIDENT_STATUSES", "IdempotencyKey", "ImportMapping", "Incident", "IncidentCheck", "IncidentComponent",
    "IncidentUpdate", "IncidentUpdateComponent", "MAINTENANCE_STATUSES", "MonitoringGap", "OutboxMessage", "Page",
    "Postmortem", "ProbeLocation", "ROLES", "RateLimitCounter", "STATUS_SEVERITY", "SiteVersion", "Subscriber", "SubscriberComponent",
    "UpdateTemplate", "User", "WorkerHeartbeat",
]
