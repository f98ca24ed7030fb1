"""`statuspage page info` and `statuspage import statuspage`: moving from (and to) Atlassian Statuspage."""

from __future__ import annotations

import json
import os
import sys

import click
from flask.cli import with_appcontext


@click.group("page", help="This status page: its id and where its APIs are.")
def page_group() -> None:
    pass


@page_group.command("info", help="Show the page id (the page_id of the Statuspage-compatible API), the public "
                                 "URL and the API base URLs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def page_info(as_json: bool) -> None:
    from .services.page_info import page_summary

    info = page_summary()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"Page id:            {info['page_id']}")
    click.echo(f"Name:               {info['name']}")
    click.echo(f"Public URL:         {info['public_url']}")
    click.echo(f"Time zone:          {info['time_zone']}")
    click.echo(f"Statuspage API:     {info['statuspage_api']}  (Authorization: OAuth <api token>)")
    click.echo(f"Public /api/v2:     {info['public_api']}")
    click.echo(f"Components:         {info['components']} in {info['groups']} groups")
    click.echo(f"Incidents:          {info['incidents']} ({info['open_incidents']} open), "
               f"{info['upcoming_maintenance']} maintenance upcoming")
    click.echo(f"Subscribers:        {info['active_subscribers']} active")


@click.group("import", help="Bring a status page over from another product.")
def import_group() -> None:
    pass


class _Progress:
    """One status line on a terminal (rewritten in place), a line per step otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if total:
            width = 30
            filled = int(width * min(done, total) / total)
            text = f"{phase:28} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        else:
            text = f"{phase:28} {done}"
        if self.tty:
            end = "\n" if phase != self.phase and self.phase else ""
            click.echo(f"{end}\r{text}", err=True, nl=False)
        else:
            click.echo(text, err=True)
        self.phase = phase

    def done(self) -> None:
        if self.tty and self.phase:
            click.echo("", err=True)


@import_group.command("statuspage", help="Import a whole Atlassian Statuspage page: components and groups, "
                                         "incidents with every update and postmortem, scheduled maintenance, "
                                         "incident templates and email subscribers (never mailing anyone, never "
                                         "re-subscribing anyone who opted out). The API key comes from "
                                         "STATUSPAGE_IMPORT_API_KEY. Safe to run again: it updates what changed, "
                                         "duplicates nothing and resumes an interrupted run.")
@click.option("--page-id", required=True, help="The Statuspage page id (Statuspage: API info).")
@click.option("--api-url", default=None, show_default="https://api.statuspage.io/v1",
              help="The management API to read from (another instance of ours: <url>/api/statuspage/v1).")
@click.option("--dry-run", is_flag=True, help="Print what would change and write nothing.")
@click.option("--requests-per-second", default=1.0, show_default=True, type=click.FloatRange(0, 1000),
              help="Pace requests (Statuspage allows 1 a second); 0 does not pace.")
@click.option("--max-retries", default=8, show_default=True, type=click.IntRange(0, 50),
              help="Retries of a request answered 420/429/5xx or dropped, with backoff.")
@with_appcontext
def import_statuspage(page_id: str, api_url: str | None, dry_run: bool, requests_per_second: float,
                      max_retries: int) -> None:
    from .services.statuspage_import import DEFAULT_API_URL, StatuspageApiError, StatuspageClient, run_import

    key = os.environ.get("STATUSPAGE_IMPORT_API_KEY", "").strip()
    if not key:
        click.echo("Error: set STATUSPAGE_IMPORT_API_KEY to the API key of the page to import.", err=True)
        sys.exit(2)
    progress = _Progress()
    try:
        client = StatuspageClient(api_url or DEFAULT_API_URL, key, page_id,
                                  min_interval=1.0 / requests_per_second if requests_per_second else 0.0,
                                  max_retries=max_retries,
                                  on_retry=lambda text: click.echo(f"\n{text}" if progress.tty else text, err=True))
        report = run_import(client, dry_run=dry_run, progress=progress)
    except StatuspageApiError as exc:
        progress.done()
        click.echo(f"Error: {exc}", err=True)
        click.echo("Everything imported before the error is kept; run the command again to resume.", err=True)
        sys.exit(1)
    progress.done()
    click.echo(report.summary())
    if report.problems:
        sys.exit(3)  # done, but some records could not be imported (listed above)
