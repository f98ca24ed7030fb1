"""Blueprints: thin views that parse, authorize, call one service and render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import (
        auth,  # noqa: F401  (user loader)
        authz,
    )
    from .admin import bp as admin_bp
    from .api.toolkit import install_api_fallbacks
    from .api.v1 import bp as api_v1_bp
    from .api_v2 import bp as api_v2_bp
    from .auth import bp as auth_bp
    from .feeds import bp as feeds_bp
    from .health import bp as health_bp
    from .public import bp as public_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(public_bp)

    from .ping import bp as ping_bp

    app.register_blueprint(ping_bp)
    app.register_blueprint(api_v2_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(auth_bp)

    from .setup import bp as setup_bp

    app.register_blueprint(setup_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_v1_bp)
    authz.init_app(app)
    install_api_fallbacks(app)
    from .admin_notify import bp as admin_notify_bp
    from .subscribe import bp as subscribe_bp

    app.register_blueprint(subscribe_bp)
    app.register_blueprint(admin_notify_bp)

    from .account_view import bp as account_view_bp
    from .accounts_admin import bp as accounts_admin_bp

    app.register_blueprint(account_view_bp)
    app.register_blueprint(accounts_admin_bp)

    from .disclosure import register_disclosure_filters

    register_disclosure_filters(app)
    from .statuspage_api import bp as statuspage_api_bp

    app.register_blueprint(statuspage_api_bp)
