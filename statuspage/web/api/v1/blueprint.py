"""The /api/v1 blueprint: the toolkit's query guard and error handlers, and the OpenAPI document's route.

The route modules (components, incidents, maintenance, postmortems, subscribers, accounts) add their
views to :data:`bp`; ``web/api/v1/__init__.py`` imports them.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..service_errors import SERVICE_ERRORS
from ..toolkit import install, render_error
from .openapi import build_spec

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
install(bp, render_error, SERVICE_ERRORS)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API (public: it holds no data)."""
    return jsonify(build_spec())
