"""`statuspage export DIR`: the whole public site as files, relative links, swapped in atomically."""

import json
import os
import re
from pathlib import Path

import feedparser
import pytest

from statuspage.extensions import db
from statuspage.services.incidents.status import set_check_status
from statuspage.services.site.export import ExportError, export_if_changed, export_path, export_site


@pytest.mark.parametrize("url,path", [
    ("/", "index.html"), ("/history", "history/index.html"), ("/history?page=3", "history/page/3/index.html"),
    ("/incidents/abc", "incidents/abc/index.html"), ("/api/v2/summary.json", "api/v2/summary.json"),
    ("/badge/api/uptime.svg", "badge/api/uptime.svg"), ("/static/style.css", "static/style.css"),
])
def test_urls_map_to_files(url, path):
    assert export_path(url) == path


def test_the_cli_exports_every_public_surface(site, runner, tmp_path):
    out = tmp_path / "site"
    result = runner.invoke(args=["export", str(out)])
    assert result.exit_code == 0, result.output
    assert "Exported" in result.output
    for rel in ["index.html", "history/index.html", f"incidents/{site.open.public_id}/index.html",
                f"incidents/{site.upcoming.public_id}/index.html", "components/api/index.html",
                "api/v2/summary.json", "api/v2/incidents/unresolved.json",
                "api/v2/scheduled-maintenances/active.json", "history.rss", "history.atom",
                "components/web/history.atom", "maintenance.ics", "badge/api.svg", "badge/api/uptime.svg",
                "static/style.css"]:
        assert (out / rel).is_file(), rel
    assert not (out / f"incidents/{site.draft.public_id}").exists()
    assert not (out / "components/backups").exists()
    summary = json.loads((out / "api/v2/summary.json").read_text())
    assert summary["status"]["indicator"] == "major"
    assert not feedparser.parse((out / "history.atom").read_bytes()).bozo


def test_links_in_exported_pages_are_relative_and_resolve(site, app, tmp_path):
    out = tmp_path / "site"
    export_site(app, out)
    for page in [out / "index.html", out / f"incidents/{site.open.public_id}/index.html",
                 out / "components/api/index.html", out / "history/index.html"]:
        html = page.read_text()
        links = re.findall(r'(?:href|src)="([^"#]+)', html)
        assert links
        for link in links:
            assert not link.startswith("/"), f"{page}: absolute link {link}"
            if link.startswith("http"):
                continue
            assert (page.parent / link).resolve().is_file(), f"{page}: {link} does not resolve"


def test_a_base_url_makes_links_absolute(site, app, tmp_path):
    export_site(app, tmp_path / "site", base_url="https://status.example.org/acme")
    html = (tmp_path / "site" / "index.html").read_text()
    assert 'href="https://status.example.org/acme/history/index.html"' in html
    summary = json.loads((tmp_path / "site" / "api/v2/summary.json").read_text())
    assert summary["page"]["url"] == "https://status.example.org/acme"


def test_the_swap_is_atomic_and_old_builds_are_tidied(site, app, tmp_path):
    out = tmp_path / "site"
    first = export_site(app, out)
    assert out.is_symlink() and out.resolve() == first.build.resolve()
    reader = open(out / "index.html", "rb")  # a reader holding the old tree keeps reading it
    set_check_status(site.web, "major_outage")
    db.session.commit()
    second = export_site(app, out)
    third = export_site(app, out)
    assert out.resolve() == third.build.resolve()
    assert "Partial System Outage" in reader.read().decode()
    reader.close()
    builds = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site.build-"))
    assert len(builds) == 2 and second.build.name in builds  # the previous build is kept, older removed
    assert "Major System Outage" in (out / "index.html").read_text()


def test_it_refuses_to_replace_a_directory_that_is_not_an_export(app, tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not a statuspage export"):
        export_site(app, out)
    assert (out / "precious.txt").read_text() == "keep me"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")]  # no half-built sibling


def test_the_worker_job_re_exports_only_when_the_site_changed(site, app, tmp_path):
    out = tmp_path / "site"
    app.extensions["statuspage.settings"].export_dir = out
    assert export_if_changed(app) is not None
    assert export_if_changed(app) is None
    set_check_status(site.web, "major_outage")
    db.session.commit()
    report = export_if_changed(app)
    assert report is not None and "Major System Outage" in (out / "index.html").read_text()
    assert os.path.islink(out)


def test_the_worker_has_rollup_and_export_jobs(app, tmp_path):
    from statuspage.worker import Worker

    app.extensions["statuspage.settings"].export_dir = Path(tmp_path / "site")
    names = {name: seconds for name, seconds, _ in Worker(app).jobs}
    assert names["uptime_rollup"] == 60.0
    assert "static_export" in names
