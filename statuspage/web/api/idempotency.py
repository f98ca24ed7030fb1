"""``Idempotency-Key`` on API POSTs: read the header, replay a stored answer (rows: services/idempotency.py)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, jsonify, request

from ...services import idempotency as keys
from ..authz import current_actor
from .toolkit import ApiError

MAX_KEY = 200


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """POST with ``Idempotency-Key``: the first answer is stored and replayed to retries (per token).

    Put it under the auth decorator (it needs to know the token). A retry with the same key and another
    body is refused (422 idempotency_key_reused); while the first request runs — or when it took effect
    but its answer was lost to a crash — 409 idempotency_key_in_flight.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= MAX_KEY or not all("\x21" <= ch <= "\x7e" for ch in key):
            raise ApiError.invalid(f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters, no spaces",
                                   {"Idempotency-Key": "invalid"})
        token = g.get("api_token")
        token_id = token.id if token is not None else None
        scoped = key if token is not None else f"user:{current_actor().id}:{key}"
        digest = hashlib.sha256(request.method.encode() + request.path.encode() + b"\n"
                                + (request.get_data(cache=True) or b"")).hexdigest()
        stored = keys.reserve_key(token_id, scoped, digest)
        if stored is not None:
            return _replay(stored, digest)
        resp = current_app.make_response(view(*args, **kwargs))
        if resp.status_code < 500 and resp.is_json:
            keys.store_response(token_id, scoped, digest, resp.status_code, resp.get_data(as_text=True))
        else:
            keys.release_key(token_id, scoped)
        return resp

    return wrapped


def _replay(stored: Any, digest: str) -> Response:
    if stored.request_hash != digest:
        raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
    if stored.status_code == keys.IN_FLIGHT:
        raise ApiError(409, "idempotency_key_in_flight",
                       "a request with this Idempotency-Key is still running, or took effect without its "
                       "response being recorded: look the result up before sending it with a new key")
    resp = jsonify(json.loads(stored.response_body))
    resp.status_code = stored.status_code
    resp.headers["Idempotent-Replayed"] = "true"
    return resp
