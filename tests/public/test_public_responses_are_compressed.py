"""Public responses in gzip or brotli, negotiated by Accept-Encoding, compressed once per cache entry;
the static export carries .gz/.br siblings."""

import gzip
import json
from unittest import mock

import brotli
import pytest

from statuspage.compression import negotiate
from statuspage.services.site.export import export_site
from statuspage.web import public_cache
from tests.support import factories as f


@pytest.mark.parametrize(("header", "coding"), [
    (None, None),
    ("", None),
    ("identity", None),
    ("gzip", "gzip"),
    ("gzip, deflate, br", "br"),
    ("br;q=0.5, gzip", "gzip"),
    ("br;q=0, gzip;q=0", None),
    ("*", "br"),
    ("*;q=0.1, br;q=0", "gzip"),
    ("x-gzip", "gzip"),
    ("GZIP;Q=1", "gzip"),
    ("br;q=abc, gzip", "gzip"),
], ids=lambda v: repr(v))
def test_negotiation(header, coding):
    assert negotiate(header) == coding


@pytest.fixture
def site(app):
    f.page(name="Acme Cloud")
    comps = [f.component(f"Component {i}", f"c{i}") for i in range(6)]
    inc = f.incident("Elevated API errors", components={comps[0]: "major_outage"})
    f.update(inc, "We are investigating.", status="investigating")
    return comps


@pytest.mark.parametrize("path", ["/", "/components/c0", "/history", "/api/v2/summary.json", "/history.rss"])
def test_each_coding_decodes_to_the_plain_body(site, client, path):
    plain = client.get(path)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"
    for coding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        for attempt in range(2):  # the first through Flask, the second from the WSGI fast path
            resp = client.get(path, headers={"Accept-Encoding": f"{coding}, identity;q=0.5"})
            assert resp.headers["Content-Encoding"] == coding, (coding, attempt)
            assert resp.headers["Vary"] == "Accept-Encoding"
            assert int(resp.headers["Content-Length"]) == len(resp.data)
            assert decode(resp.data) == plain.data
            assert len(resp.data) < len(plain.data)
            assert resp.headers["ETag"] == plain.headers["ETag"]


def test_the_page_is_compressed_once_per_cache_entry(site, client):
    with mock.patch.object(public_cache, "compress", autospec=True, side_effect=public_cache.compress) as spy:
        for _ in range(4):
            for coding in ("br", "gzip"):
                assert client.get("/history", headers={"Accept-Encoding": coding}).headers[
                    "Content-Encoding"] == coding
    assert sorted(call.args[1] for call in spy.call_args_list) == ["br", "gzip"]


def test_head_and_304_carry_the_encoding_headers(site, client):
    get = client.get("/history", headers={"Accept-Encoding": "br"})
    head = client.head("/history", headers={"Accept-Encoding": "br"})
    assert head.data == b"" and head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["Content-Encoding"] == "br"
    again = client.get("/history", headers={"Accept-Encoding": "br", "If-None-Match": get.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Vary"] == "Accept-Encoding"


def test_small_and_binary_responses_are_left_alone(site, client):
    tiny = client.get("/badge/c0.svg", headers={"Accept-Encoding": "br"})
    assert tiny.status_code == 200
    assert ("Content-Encoding" in tiny.headers) == (len(tiny.data) >= 256 and tiny.headers.get(
        "Content-Encoding") == "br")
    css = client.get("/static/style.css", headers={"Accept-Encoding": "br"})
    assert css.status_code == 200  # static files are not ours to encode here (the export ships .br siblings)


def test_the_static_export_ships_gz_and_br_siblings(site, app, tmp_path):
    export_site(app, tmp_path / "site")
    root = tmp_path / "site"
    for rel in ("index.html", "history/index.html", "api/v2/summary.json", "history.rss", "maintenance.ics",
                "static/style.css"):
        plain = (root / rel).read_bytes()
        if len(plain) < 256:
            continue
        assert gzip.decompress((root / f"{rel}.gz").read_bytes()) == plain, rel
        assert brotli.decompress((root / f"{rel}.br").read_bytes()) == plain, rel
    json.loads((root / "api/v2/summary.json").read_bytes())
    assert not (root / "index.html.gz.gz").exists()
    assert not list(root.rglob("*.png.gz"))
