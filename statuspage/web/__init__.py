"""Blueprints: thin views that parse, authorize, call one service and render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth  # noqa: F401  (user loader)
    from .health import bp as health_bp
    from .public import bp as public_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(public_bp)

    from .admin_notify import bp as admin_notify_bp
    from .api_v1_subscribers import bp as api_v1_subscribers_bp
    from .subscribe import bp as subscribe_bp

    app.register_blueprint(subscribe_bp)
    app.register_blueprint(admin_notify_bp)
    app.register_blueprint(api_v1_subscribers_bp)
