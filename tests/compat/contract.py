"""A client of Statuspage's management API contract, as a script written against api.statuspage.io would be.

It knows only what Statuspage documents: ``{base}/pages/{page_id}/…`` paths (optionally with ``.json``),
``Authorization: OAuth <key>``, JSON bodies or form bodies with bracketed names. Pointed at our
``/api/statuspage/v1`` it must work unchanged.
"""

from __future__ import annotations

from typing import Any

import requests


class StatuspageContractClient:
    def __init__(self, api_url: str, api_key: str, page_id: str, *, scheme: str = "OAuth"):
        self.api_url = api_url.rstrip("/")
        self.page_id = page_id
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"{scheme} {api_key}"

    def url(self, path: str) -> str:
        return f"{self.api_url}/pages/{self.page_id}{path}"

    def call(self, method: str, path: str, *, json: Any = None, form: Any = None, params: Any = None,
             expect: int | None = None) -> requests.Response:
        resp = self.session.request(method, self.url(path), json=json, data=form, params=params, timeout=30)
        if expect is not None:
            assert resp.status_code == expect, (method, path, resp.status_code, resp.text[:1000])
        return resp

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, expect=kw.pop("expect", 200), **kw).json()

    def post(self, path: str, **kw: Any) -> Any:
        resp = self.call("POST", path, expect=kw.pop("expect", 201), **kw)
        return resp.json() if resp.content else None

    def patch(self, path: str, **kw: Any) -> Any:
        return self.call("PATCH", path, expect=kw.pop("expect", 200), **kw).json()

    def put(self, path: str, **kw: Any) -> Any:
        return self.call("PUT", path, expect=kw.pop("expect", 200), **kw).json()

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, expect=kw.pop("expect", None), **kw)
