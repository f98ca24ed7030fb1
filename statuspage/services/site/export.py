"""Static export: the whole public site as files any static host or CDN can serve.

The same views render every page (through the app's test client, marked as an export so that the
render cache and revalidation are bypassed); HTML links are rewritten to relative paths (or to a
configured base URL), so the tree works from any host, any sub-path, even ``file://``. The tree is
built in a sibling temporary directory and swapped in atomically: ``DIR`` is a symlink to the current
build, replaced with one ``rename()``, so a reader never sees half a site.

Every compressible file (HTML, JSON, feeds, SVG, the calendar, CSS) gets ``.gz`` and ``.br`` siblings
with the same bytes compressed, for static hosts that serve them to clients that accept them (nginx
``gzip_static`` / ``brotli_static``, Caddy ``precompressed``, most CDNs).
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
import os
import posixpath
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import select

from ...compression import CODINGS, compress, is_compressible
from ...db import utcnow
from ...extensions import db
from ...models import Component, Incident
from ..page import current_site_version, get_page

# Set in the WSGI environ of the export's requests: views link to the export's base URL, never cache.
EXPORT_ENVIRON_KEY = "statuspage.export"
MARKER = ".statuspage-export.json"
API_FILES = ("summary.json", "status.json", "components.json", "incidents.json", "incidents/unresolved.json",
             "scheduled-maintenances.json", "scheduled-maintenances/upcoming.json",
             "scheduled-maintenances/active.json")
_LINK = re.compile(r'(?P<attr>href|src)="(?P<url>/[^"]*)"')


class ExportError(RuntimeError):
    """The export cannot be written (bad target, failed render)."""


@dataclass
class ExportReport:
    target: Path
    build: Path
    version: int
    files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"Exported {len(self.files)} files (site version {self.version}) to {self.target}."


def export_path(url: str) -> str:
    """The file (relative, no leading slash) that holds a public URL in the export.

    ``/`` → ``index.html``; ``/history?page=2`` → ``history/page/2/index.html``; a path whose last
    segment has a dot is a file as is (``/api/v2/summary.json``, ``/badge/api.svg``); any other path
    becomes a directory with an ``index.html``.
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    if path == "/history" and parts.query:
        page = parse_qs(parts.query).get("page", ["1"])[0]
        if page.isdigit() and int(page) > 1:
            return f"history/page/{int(page)}/index.html"
    path = path.lstrip("/")
    if path == "" or path.endswith("/"):
        return path + "index.html"
    if "." in path.rsplit("/", 1)[-1]:
        return path
    return path + "/index.html"


def site_urls(app: Flask) -> list[str]:
    """Every public URL of the site except the paged history beyond page 1 (found while rendering)."""
    urls = ["/", "/history", "/history.rss", "/history.atom", "/maintenance.ics"]
    urls += [f"/api/v2/{name}" for name in API_FILES]
    for slug in db.session.scalars(select(Component.slug).where(Component.public.is_(True),
                                                                Component.archived_at.is_(None))):
        urls += [f"/components/{slug}", f"/components/{slug}/history.rss", f"/components/{slug}/history.atom",
                 f"/badge/{slug}.svg", f"/badge/{slug}/uptime.svg"]
    for public_id in db.session.scalars(select(Incident.public_id).where(Incident.published_at.is_not(None))):
        urls.append(f"/incidents/{public_id}")
    return urls


def _rewrite_links(html: str, own_file: str, exported: set[str], base_url: str | None,
                   live_url: str | None) -> str:
    here = posixpath.dirname(own_file)

    def repl(m: re.Match) -> str:
        url = m.group("url")
        if url.startswith("//"):
            return m.group(0)
        target = export_path(url)
        fragment = "#" + url.split("#", 1)[1] if "#" in url else ""
        if target in exported:
            if base_url:
                new = f"{base_url.rstrip('/')}/{target}"
            else:
                new = posixpath.relpath(target, here or ".")
            return f'{m.group("attr")}="{new}{fragment}"'
        if live_url:  # a page only the live site has (subscribe, login…)
            return f'{m.group("attr")}="{live_url.rstrip("/")}{url}"'
        return m.group(0)

    return _LINK.sub(repl, html)


def build_site(app: Flask, out: Path, *, base_url: str | None = None) -> tuple[int, list[str]]:
    """Render every public URL into ``out`` (which must not exist); returns (site version, files)."""
    version = current_site_version()
    settings = app.extensions["statuspage.settings"]
    live_url = settings.public_url or get_page().url
    client = app.test_client()
    rendered: dict[str, tuple[bytes, str]] = {}
    queue = site_urls(app)
    seen: set[str] = set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url, environ_overrides={EXPORT_ENVIRON_KEY: base_url or ""})
        if resp.status_code != 200:
            raise ExportError(f"{url} answered {resp.status_code}")
        body = resp.get_data()
        rendered[export_path(url)] = (body, resp.mimetype or "")
        if url.startswith("/history") and b'rel="next"' in body:
            current = int(parse_qs(urlsplit(url).query).get("page", ["1"])[0])
            queue.append(f"/history?page={current + 1}")
    out.mkdir(parents=True)
    static = Path(app.static_folder or "")
    static_files = [f"static/{p.relative_to(static).as_posix()}" for p in sorted(static.rglob("*")) if p.is_file()]
    exported = set(rendered) | set(static_files)
    siblings: list[str] = []
    for rel, (body, mimetype) in rendered.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if mimetype == "text/html":
            body = _rewrite_links(body.decode("utf-8"), rel, exported, base_url, live_url).encode("utf-8")
        path.write_bytes(body)
        siblings += _precompressed(path, rel, body, mimetype)
    for rel in static_files:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(static / rel.removeprefix("static/"), dest)
        siblings += _precompressed(dest, rel, dest.read_bytes(), mimetypes.guess_type(rel)[0] or "")
    exported |= set(siblings)
    (out / MARKER).write_text(json.dumps({"version": version, "exported_at": utcnow().isoformat(),
                                          "base_url": base_url}))
    return version, sorted(exported)


def _precompressed(path: Path, rel: str, body: bytes, mimetype: str) -> list[str]:
    """Write ``.gz`` and ``.br`` siblings of a compressible file; returns their relative paths."""
    if not is_compressible(mimetype, len(body)):
        return []
    out = []
    for coding, suffix in CODINGS.items():
        path.with_name(path.name + suffix).write_bytes(compress(body, coding))
        out.append(rel + suffix)
    return out


def _swap(target: Path, build: Path) -> None:
    """Point ``target`` (a symlink) at ``build`` with one atomic rename; tidy older builds."""
    previous: Path | None = None
    if target.is_symlink():
        previous = (target.parent / os.readlink(target)).resolve()
    elif target.exists():
        if not target.is_dir():
            raise ExportError(f"{target} exists and is not a directory")
        if any(target.iterdir()) and not (target / MARKER).exists():
            raise ExportError(f"{target} is a non-empty directory that is not a statuspage export; "
                              "choose an empty or new path")
        # First export into a plain directory: move it aside (the only non-atomic moment, once).
        aside = target.parent / f".{target.name}.old-{secrets.token_hex(4)}"
        target.rename(aside)
        previous = aside
    link = target.parent / f".{target.name}.link-{secrets.token_hex(4)}"
    os.symlink(build.name, link)
    os.replace(link, target)
    # Keep the build just replaced (a reader may be mid-way through it); remove anything older.
    prefix = f".{target.name}."
    for sibling in target.parent.iterdir():
        if (sibling.name.startswith(prefix) and sibling.resolve() not in (build.resolve(),
                                                                          previous.resolve() if previous else None)
                and not sibling.is_symlink()):
            shutil.rmtree(sibling, ignore_errors=True)


def export_site(app: Flask, target: str | os.PathLike, *, base_url: str | None = None) -> ExportReport:
    """Write the whole public site to ``target`` atomically (build aside, then swap a symlink)."""
    target = Path(target).expanduser().absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    build = target.parent / f".{target.name}.build-{utcnow().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    try:
        version, files = build_site(app, build, base_url=base_url)
        _swap(target, build)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return ExportReport(target=target, build=build, version=version, files=files)


def exported_version(target: str | os.PathLike) -> tuple[int | None, str | None]:
    """(site version, exported_at ISO) of the export at ``target``, or (None, None)."""
    try:
        data = json.loads((Path(target) / MARKER).read_text())
        return int(data["version"]), data.get("exported_at")
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def export_if_changed(app: Flask, *, max_age_seconds: int = 600) -> ExportReport | None:
    """Worker job: re-export when the site version changed (or the export is older than max_age, since
    today's uptime bar moves with time). No-op unless STATUSPAGE_EXPORT_DIR is set."""
    target = app.extensions["statuspage.settings"].export_dir
    if target is None:
        return None
    version, exported_at = exported_version(target)
    fresh = False
    if exported_at:
        age = (utcnow() - dt.datetime.fromisoformat(exported_at)).total_seconds()
        fresh = age < max_age_seconds
    if version == current_site_version() and fresh:
        return None
    db.session.rollback()  # render from a fresh snapshot
    return export_site(app, target)
