"""The API toolkit is shared: another JSON API installs it with its own error shape (as the
Statuspage-compatible API does) and gets the same parsing, guard and codes, rendered its way."""

from __future__ import annotations

from flask import Blueprint, jsonify

from statuspage.services.users import create_token
from statuspage.web.api.toolkit import (
    PAGE_PARAMS,
    ApiError,
    RequestFields,
    accepts_query,
    install,
    json_body,
)
from statuspage.web.authz import api_auth


def _flat(err: ApiError):
    resp = jsonify({"error": err.message, "code": err.code})  # a different shape on purpose
    resp.status_code = err.status
    resp.headers.update(err.headers)
    return resp


def _compat_app(app):
    bp = Blueprint("compat", __name__, url_prefix="/api/compat")
    install(bp, _flat)

    @bp.post("/things")
    @api_auth("write")
    @accepts_query(*PAGE_PARAMS)
    def things():
        f = RequestFields(json_body("thing"), "thing", allowed={"name", "count"})
        name, count = f.text("name", required=True), f.integer("count", 0, 9)
        f.done()
        return jsonify(name=name, count=count), 201

    app.register_blueprint(bp)
    return app


def test_another_api_reuses_the_parsing_with_its_own_error_shape(app):
    client = _compat_app(app).test_client()
    _, token = create_token("compat", "write")
    auth = {"Authorization": f"Bearer {token}"}
    ok = client.post("/api/compat/things", json={"thing": {"name": "x", "count": 3}}, headers=auth)
    assert ok.status_code == 201 and ok.json == {"name": "x", "count": 3}
    for kwargs, status, code in [
        ({"json": {"thing": {"count": "3"}}, "headers": auth}, 400, "invalid_request"),
        ({"data": "x", "headers": auth}, 415, "unsupported_media_type"),
        ({"json": {"thing": {}}}, 401, "unauthorized"),
    ]:
        resp = client.post("/api/compat/things", **kwargs)
        assert resp.status_code == status and resp.json["code"] == code and isinstance(resp.json["error"], str)
    bad = client.post("/api/compat/things", json={"thing": {"count": "3"}}, headers=auth).json["error"]
    assert "thing.name: required" in bad and "thing.count: must be a whole number" in bad
    assert client.post("/api/compat/things?colour=blue", json={}, headers=auth).json["code"] == "invalid_request"
    # Errors no view raised under its prefix (an unknown path, a wrong method) come in its shape too.
    assert client.get("/api/compat/nope").json == {"error": "The requested URL was not found on the server. "
                                                   "If you entered the URL manually please check your spelling "
                                                   "and try again.", "code": "not_found"}
    assert client.get("/api/compat/things").json["code"] == "method_not_allowed"
    # /api/v1 keeps its own.
    assert set(client.get("/api/v1/nope").json["error"]) == {"code", "message", "fields"}
