"""Blueprints: thin views that parse, authorize, call one service and render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth  # noqa: F401  (user loader)
    from .api_v2 import bp as api_v2_bp
    from .feeds import bp as feeds_bp
    from .health import bp as health_bp
    from .public import bp as public_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(public_bp)

    from .ping import bp as ping_bp

    app.register_blueprint(ping_bp)
    app.register_blueprint(api_v2_bp)
    app.register_blueprint(feeds_bp)

    from .account_view import bp as account_view_bp
    from .accounts_admin import bp as accounts_admin_bp
    from .accounts_api import bp as accounts_api_bp

    app.register_blueprint(account_view_bp)
    app.register_blueprint(accounts_admin_bp)
    app.register_blueprint(accounts_api_bp)
