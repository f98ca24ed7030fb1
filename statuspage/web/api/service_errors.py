"""How each service's refusal becomes an ``ApiError``: one table, for every JSON API we serve.

Services raise their own errors (``IncidentError("…", field, code="conflict")``); an API blueprint
installs :data:`SERVICE_ERRORS` with the toolkit, so views call services without try/except.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...services.accounts.records import AccountError
from ...services.accounts.sla import SlaError
from ...services.incidents.lifecycle import IncidentError
from ...services.notifications.outbox.console import OutboxError
from ...services.notifications.subscriptions import SubscriptionError
from .toolkit import ApiError

# A service's own code → (status, API code). "invalid" is well-formed input that breaks a rule.
_BY_CODE = {"invalid": (422, "validation_failed"), "conflict": (409, "conflict"),
            "forbidden": (403, "forbidden"), "not_found": (404, "not_found")}


def _coded(code: str, message: str, fields: dict[str, str]) -> ApiError:
    status, api_code = _BY_CODE.get(code, _BY_CODE["invalid"])
    return ApiError(status, api_code, message, fields)


def incident_error(exc: IncidentError) -> ApiError:
    """Incidents, maintenance, postmortems and silences."""
    return _coded(exc.code, str(exc), {exc.field: str(exc)} if exc.field else {})


def account_error(exc: AccountError) -> ApiError:
    """Account records (422 invalid, 409 managed by the config file or a taken id)."""
    return _coded(exc.code, str(exc), exc.fields)


def subscription_error(exc: SubscriptionError) -> ApiError:
    """A subscriber that cannot be added (bad address, URL or component)."""
    return ApiError.unprocessable(str(exc), {exc.field or "subscriber": str(exc)})


def sla_error(exc: SlaError) -> ApiError:
    """A malformed period is the request's fault (400); an unknown account is not found (404)."""
    if exc.field == "account":
        return ApiError(404, "not_found", str(exc), {"account": str(exc)})
    return ApiError.invalid(str(exc), {exc.field or "period": str(exc)})


def outbox_error(exc: OutboxError) -> ApiError:
    """An outbox row that does not exist (404) or is in the wrong state to retry (409)."""
    return ApiError.not_found(str(exc)) if "no such" in str(exc) else ApiError.conflict(str(exc))


SERVICE_ERRORS: dict[type[Exception], Callable[[Any], ApiError]] = {
    IncidentError: incident_error, AccountError: account_error, SubscriptionError: subscription_error,
    SlaError: sla_error, OutboxError: outbox_error,
}
