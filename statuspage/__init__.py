"""statuspage: a self-hosted trust and status page with incident tooling."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .config import Settings, SettingsError, load_settings

__all__ = ["create_app", "Settings", "SettingsError"]

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None) -> Flask:
    """Build the Flask application.

    ``env`` replaces ``os.environ`` as the source of settings (tests pass their own);
    ``config`` overrides Flask config keys after settings are applied.
    """
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
        instance_relative_config=False,
    )
    # Integer ids in URLs stay within the database's 32-bit columns: anything larger is a 404, never a
    # database error (PostgreSQL refuses out-of-range integers).
    from werkzeug.routing import IntegerConverter

    class BoundedIntConverter(IntegerConverter):
        def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = BoundedIntConverter
    settings = load_settings(env, default_instance=ROOT / "instance")
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app.instance_path = str(settings.instance_path)
    app.extensions["statuspage.settings"] = settings

    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.session_cookie_secure),  # decided per response: web/sessions.py
        REMEMBER_COOKIE_SECURE=bool(settings.session_cookie_secure),
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead; a long incident must not expire the form
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=True,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.update(config)

    from . import db as dbmod
    from . import ratelimit  # noqa: F401  (registers the database storage of rate limits)
    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    with app.app_context():
        dbmod.configure_engine(db.engine)

    from . import models  # noqa: F401  (register every table with the metadata)
    from .web import register_blueprints
    from .web.jsonbody import init_json
    from .web.query import init_query_bounds
    from .web.security_headers import init_security_headers
    from .web.sessions import init_sessions

    register_blueprints(app)
    init_json(app)
    init_query_bounds(app)
    init_sessions(app)
    init_security_headers(app)

    from .cli import register_cli

    register_cli(app)

    from .templating import register_template_helpers

    _register_read_only_requests(app)

    from .ops.logs import init_request_ids
    from .ops.metrics import init_metrics

    init_request_ids(app)
    init_metrics(app)

    register_template_helpers(app)
    logging.getLogger("statuspage").setLevel(logging.INFO)

    from .web.fast_public import FastPublicCache
    from .web.public_cache import PublicAwareSessionInterface

    app.session_interface = PublicAwareSessionInterface()

    app.wsgi_app = FastPublicCache(app)  # type: ignore[method-assign]
    return app


def _register_read_only_requests(app: Flask) -> None:
    """GET/HEAD requests read only (deferred BEGIN on SQLite) unless the view is marked ``@writes``."""
    from flask import request

    from .db import write_intent

    @app.before_request
    def _set_intent():
        view = app.view_functions.get(request.endpoint or "")
        read_only = request.method in ("GET", "HEAD", "OPTIONS") and not getattr(view, "writes", False)
        request.environ["statuspage.intent_token"] = write_intent.set(not read_only)

    @app.teardown_request
    def _reset_intent(_exc):
        token = request.environ.pop("statuspage.intent_token", None)
        if token is not None:
            write_intent.reset(token)


def writes(view):
    """Mark a GET view that writes to the database (e.g. a heartbeat ping)."""
    view.writes = True
    return view


def _engine_options(settings: Settings) -> dict[str, Any]:
    if settings.is_sqlite:
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
