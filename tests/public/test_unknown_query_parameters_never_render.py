"""Issue 17, item 14: public responses are cached by a canonical key. ``/?r=<random>`` used to skip the
render cache (one render per variant, 1.5 ms → 58 ms); unknown query parameters are now ignored for
caching, so an anonymous flood of unique query strings renders nothing."""

import secrets

import pytest

from statuspage.web.public_cache import canonical_path, render_cache


@pytest.mark.parametrize("path", ["/", "/api/v2/summary.json", "/history.rss", "/components/api",
                                  "/badge/api.svg"])
def test_random_query_strings_are_answered_from_the_one_rendering(site, client, path):
    first = client.get(path)
    assert first.status_code == 200
    misses = render_cache().misses
    for _ in range(20):
        resp = client.get(f"{path}?r={secrets.token_hex(8)}&utm_source=x")
        assert resp.status_code == 200 and resp.data == first.data
        assert resp.headers["ETag"] == first.headers["ETag"]
    assert render_cache().misses == misses  # no new rendering, not even a cache lookup that missed
    assert len(render_cache()) <= 2


def test_declared_parameters_still_make_their_own_page(site, client):
    one = client.get("/history")
    two = client.get("/history?page=2")
    assert one.status_code == two.status_code == 200 and one.data != two.data
    misses = render_cache().misses
    assert client.get("/history?utm_campaign=x&page=2").data == two.data
    assert client.get("/history?page=2&r=1").headers["ETag"] == two.headers["ETag"]
    assert render_cache().misses == misses


def test_canonical_path():
    assert canonical_path("/history", "b=1&page=3&page=4", ("page",)) == "/history?page=3"
    assert canonical_path("/history", "r=1", ("page",)) == "/history"
    assert canonical_path("/", "page=2", ()) == "/"
    assert canonical_path("/history", "page=%32", ("page",)) == "/history?page=2"
