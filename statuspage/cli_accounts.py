"""`statuspage accounts …` and `statuspage sla …`: the CRM import and the SLA report on the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group("accounts", help="Customer accounts: import them from a CRM export, list them.")
def accounts_group() -> None:
    pass


@accounts_group.command(
    "import",
    help="Create or update accounts from a CSV export of your CRM. Columns are recognised by name "
         "(\"Account ID\"→id, \"Account Name\"→name, \"ARR\"/\"Annual Revenue\"→arr, \"Tier\", \"Renewal Date\" "
         "(YYYY-MM-DD), \"SLA\"→sla_target, \"Owner Email\"→owner, \"Team\", \"Components\", \"Contacts\"); "
         "override with --map. Lists use ';' (components: api;db, contacts: email:name:notify;...). A row "
         "whose id exists updates that account (only the columns present). Every row is reported "
         "created/updated/unchanged/rejected with reasons; bad rows never block good ones. Exit status: 0 when "
         "every row was imported, 1 when some rows were rejected (the others ARE saved), 2 when the file "
         "cannot be used at all.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--map", "mappings", multiple=True, metavar="CSVCOLUMN=FIELD",
              help="Map a column to a field (id, name, arr, tier, renewal_date, sla_target, owner, team, "
                   "components, contacts), or to - to ignore it. Repeatable.")
@click.option("--delimiter", default=",", show_default=True, help="Field separator of the file.")
@click.option("--dry-run", is_flag=True, help="Validate and report, save nothing.")
@with_appcontext
def accounts_import(path: str, mappings: tuple[str, ...], delimiter: str, dry_run: bool) -> None:
    from .services.accounts.csv_import import ImportFileError, import_accounts_csv, parse_mapping

    try:
        mapping = parse_mapping(mappings)
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
        report = import_accounts_csv(text, mapping=mapping, dry_run=dry_run, delimiter=delimiter)
    except ImportFileError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except UnicodeDecodeError:
        click.echo(f"Error: {path} is not UTF-8 text; export it as CSV UTF-8", err=True)
        sys.exit(2)
    click.echo(report.summary())
    if report.rejected:
        sys.exit(1)


@accounts_group.command("list", help="List live accounts, largest ARR first.")
@click.option("--owner", default=None, help="Only accounts this email owns or is on the team of.")
@click.option("--tier", default=None, help="Only this tier.")
@with_appcontext
def accounts_list(owner: str | None, tier: str | None) -> None:
    from .services.accounts.records import list_accounts

    for acc in list_accounts(owner=owner, tier=tier):
        renewal = acc.renewal_date.isoformat() if acc.renewal_date else "-"
        click.echo(f"{acc.external_id:20} {acc.name[:40]:40} {float(acc.arr or 0):>14,.2f} "
                   f"{acc.tier or '-':12} {renewal:10} {acc.owner_email or '-'}")


@click.group("sla", help="Per-account SLA reports.")
def sla_group() -> None:
    pass


@sla_group.command(
    "report",
    help="Print the SLA report on stdout: per account the period, monitored minutes and coverage, uptime "
         "over its components (rounded down to two decimals), target, result (met, breached, or insufficient "
         "data when coverage is below sla.min_coverage_percent), downtime by kind, maintenance excluded, credit "
         "and the incidents that counted. --format text adds the formula and the rules. Dates are local days "
         "of the page's time zone, inclusive; without dates: the current month.")
@click.option("--from", "date_from", default=None, metavar="DATE", help="First day, e.g. 2026-03-01.")
@click.option("--to", "date_to", default=None, metavar="DATE",
              help="Last day, inclusive (default: end of the --from month).")
@click.option("--account", "account_ids", multiple=True, metavar="ID", help="Only this account (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "text"]), default="csv", show_default=True)
@with_appcontext
def sla_report_command(date_from: str | None, date_to: str | None, account_ids: tuple[str, ...], fmt: str) -> None:
    from .services.accounts.sla import SlaError, parse_period, sla_report

    try:
        start, end = parse_period(date_from, date_to)
        report = sla_report(start, end, accounts=list(account_ids) or None)
    except SlaError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    body = {"csv": report.to_csv, "json": report.to_json, "text": report.to_text}[fmt]()
    click.echo(body, nl=fmt == "json")
