"""The configuration file: parse, expand ${ENV}, validate every section, list every error with its path.

Pure: no database. ``services.config_sync`` applies a validated ``ConfigDoc``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from checks.spec import LOCATION_RE, CheckSpec, parse_check_spec
from checks.validation import ErrorCollector, Fields, as_choice, as_email, as_slug, as_url

from .models.constants import AUTO_INCIDENT_MODES, CAUSE_CATEGORIES, CAUSE_LABELS, CONTACT_NOTIFY

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
ENV_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigFileError(Exception):
    """The file cannot be used; ``errors`` lists every problem as 'path: message'."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class GroupDef:
    id: str
    name: str
    description: str | None = None


@dataclass
class ComponentDef:
    id: str
    name: str
    group: str | None = None
    description: str | None = None
    public: bool = True
    showcase: bool = True
    only_show_if_degraded: bool = False
    auto_incident: str = "draft"
    auto_resolve_after: float | None = None
    start_date: dt.date | None = None
    checks: list[CheckSpec] = field(default_factory=list)


@dataclass
class LocationDef:
    id: str
    name: str | None = None
    stale_after: float | None = None


@dataclass
class ContactDef:
    email: str
    name: str | None = None
    role: str | None = None
    notify: str = "all"


@dataclass
class AccountDef:
    id: str
    name: str
    arr: Decimal = Decimal(0)
    tier: str | None = None
    renewal_date: dt.date | None = None
    sla_target: Decimal | None = None
    owner: str | None = None
    team: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    contacts: list[ContactDef] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)


@dataclass
class PageDef:
    name: str = "Status"
    url: str | None = None
    time_zone: str = "UTC"
    on_call: str | None = None
    currency: str = "USD"
    partial_outage_weight: float = 0.3
    degraded_weight: float = 0.0


@dataclass
class ConfigDoc:
    page: PageDef
    groups: list[GroupDef]
    components: list[ComponentDef]
    accounts: list[AccountDef] | None  # None: the file says nothing about accounts, leave them alone
    sla_credits: list[dict[str, float]]
    cause_categories: list[dict[str, str]]
    sla_min_coverage_percent: float = 90.0  # below it an SLA row says "insufficient data"
    locations: list[LocationDef] | None = None  # None: the file declares none; any name is accepted


def expand_env(value: Any, env: Mapping[str, str], path: str, errors: ErrorCollector) -> Any:
    """Expand ${NAME} in every string scalar (after YAML parsing, so no structure can be injected)."""
    if isinstance(value, dict):
        return {k: expand_env(v, env, f"{path}.{k}" if path else str(k), errors) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    if isinstance(value, str) and "$" in value:
        def repl(m: re.Match) -> str:
            if m.group(0) == "$${":
                return "${"
            name = m.group(1)
            if name not in env:
                errors.add(path, f"environment variable {name} is not set")
                return ""
            return env[name]
        return ENV_REF.sub(repl, value)
    return value


def _parse_page(data: Any, errors: ErrorCollector) -> PageDef:
    page = PageDef()
    if data is None:
        return page
    if not isinstance(data, dict):
        errors.add("page", "must be a mapping")
        return page
    f = Fields(data, "page", errors, trim=True)
    f.known({"name", "url", "time_zone", "on_call", "uptime", "currency"})
    page.name = f.text("name", required=True, max_len=200) or page.name
    url = f.text("url", max_len=500)
    if url:
        url = errors.check("page.url", as_url, url)
        if url:
            page.url = url.rstrip("/")
    tz = f.text("time_zone", max_len=64)
    if tz:
        try:
            zoneinfo.ZoneInfo(tz)
            page.time_zone = tz
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.add("page.time_zone", f"unknown IANA time zone {tz!r}")
    page.on_call = f.email("on_call")
    currency = f.text("currency", max_len=3)
    if currency:
        if not re.fullmatch(r"[A-Z]{3}", currency):
            errors.add("page.currency", f"expected an ISO 4217 code like USD or EUR, got {currency!r}")
        else:
            page.currency = currency
    uptime = f.mapping("uptime")
    if uptime is not None:
        weights = Fields(uptime, "page.uptime", errors)
        weights.known({"partial_outage_weight", "degraded_weight"})
        for key in ("partial_outage_weight", "degraded_weight"):
            n = weights.number(key, minimum=0, maximum=1)
            if n is not None:
                setattr(page, key, float(n))
    return page


def _parse_groups(raw: list, errors: ErrorCollector) -> list[GroupDef]:
    groups: list[GroupDef] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"groups[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be a mapping")
            continue
        f = Fields(item, path, errors, trim=True)
        f.known({"id", "name", "description"})
        gid = f.slug("id", required=True)
        name = f.text("name", required=True, max_len=200)
        if gid and gid in seen:
            errors.add(f"{path}.id", f"duplicate group id {gid!r}")
            gid = None
        if gid and name:
            seen.add(gid)
            groups.append(GroupDef(id=gid, name=name, description=f.text("description", max_len=2000)))
    return groups


def _parse_components(raw: list, group_ids: set[str], errors: ErrorCollector,
                      known_locations: set[str] | None = None) -> list[ComponentDef]:
    components: list[ComponentDef] = []
    seen: set[str] = set()
    check_ids: dict[str, str] = {}
    allowed = {"id", "name", "group", "description", "public", "showcase", "only_show_if_degraded",
               "auto_incident", "auto_resolve_after", "start_date", "checks"} | set(LOCATION_KEYS)
    for i, item in enumerate(raw):
        path = f"components[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be a mapping")
            continue
        f = Fields(item, path, errors, trim=True)
        f.known(allowed)
        cid = f.slug("id", required=True)
        name = f.text("name", required=True, max_len=200)
        if cid and cid in seen:
            errors.add(f"{path}.id", f"duplicate component id {cid!r}")
            cid = None
        group = f.text("group", max_len=100)
        if group and group not in group_ids:
            errors.add(f"{path}.group", f"unknown group {group!r}" + (
                f" (groups: {', '.join(sorted(group_ids))})" if group_ids else " (no groups are defined)"))
        auto = item.get("auto_incident", "draft")
        auto = errors.check(f"{path}.auto_incident", as_choice, "off" if auto is False else auto,
                            AUTO_INCIDENT_MODES) or "draft"
        comp = ComponentDef(
            id=cid or "", name=name or "", group=group,
            description=f.text("description", max_len=2000),
            public=bool(f.boolean("public", True)),
            showcase=bool(f.boolean("showcase", True)),
            only_show_if_degraded=bool(f.boolean("only_show_if_degraded", False)),
            auto_incident=auto, auto_resolve_after=f.duration("auto_resolve_after"),
            start_date=f.date("start_date"),
        )
        for j, check in enumerate(f.listing("checks")):
            cpath = f"{path}.checks[{j}]"
            if not isinstance(check, dict):
                errors.add(cpath, "must be a mapping")
                continue
            # locations / quorum / on_partial on the component are defaults for its network checks.
            inherited = [k for k in LOCATION_KEYS if k in item and item[k] is not None and k not in check
                         and check.get("kind") != "heartbeat"]
            if inherited:
                check = {**check, **{k: item[k] for k in inherited}}
            spec, problems = parse_check_spec(check)
            for field_path, message in problems:
                root = re.split(r"[.\[]", field_path or "")[0]
                if root in inherited:
                    errors.add(f"{path}.{field_path}", f"{message} (inherited by check {check.get('id')!r})")
                else:
                    errors.add(f"{cpath}.{field_path}" if field_path else cpath, message)
            raw_id = check.get("id")
            if isinstance(raw_id, str) and raw_id:
                if raw_id in check_ids:
                    errors.add(f"{cpath}.id", f"duplicate check id {raw_id!r} (first used in {check_ids[raw_id]})")
                    continue
                check_ids[raw_id] = cpath
            if spec is not None and known_locations is not None:
                for k, loc in enumerate(spec.locations):
                    if loc not in known_locations:
                        errors.add(f"{cpath}.locations[{k}]", f"unknown location {loc!r} (locations: "
                                                              f"{', '.join(sorted(known_locations))})")
            if spec is not None:
                comp.checks.append(spec)
        if cid and name:
            seen.add(cid)
            components.append(comp)
    return components


def parse_account(item: Any, path: str, component_ids: set[str] | None, errors: ErrorCollector) -> AccountDef | None:
    """Validate one account mapping (shared by the config file, the CSV import and the API)."""
    if not isinstance(item, dict):
        errors.add(path, "must be a mapping")
        return None
    f = Fields(item, path, errors, trim=True)
    f.known({"id", "name", "arr", "tier", "renewal_date", "sla_target", "owner", "team", "components", "contacts",
             "locations"})
    before = len(errors)
    aid = f.text("id", required=True, max_len=100)
    if aid and not EXTERNAL_ID.match(aid):
        errors.add(f"{path}.id", f"must be letters, digits and . _ : - only, got {aid!r}")
    name = f.text("name", required=True, max_len=300)
    # The column holds 12 digits before the point; a bigger figure (1e400) would become infinity.
    arr = f.number("arr", default=Decimal(0), minimum=0, maximum=MAX_ARR)
    sla = f.number("sla_target", minimum=0, maximum=100, exclusive_min=True)
    owner = errors.check(f"{path}.owner", as_email, item["owner"]) if item.get("owner") else None
    team_raw = item.get("team") or []
    if isinstance(team_raw, str):
        team_raw = [team_raw]
    team = []
    if not isinstance(team_raw, list):
        errors.add(f"{path}.team", "must be a list of email addresses")
    else:
        for k, t in enumerate(team_raw):
            email = errors.check(f"{path}.team[{k}]", as_email, t)
            if email and email not in team:
                team.append(email)
    comps: list[str] = []
    for k, c in enumerate(f.listing("components")):
        if not isinstance(c, str):
            errors.add(f"{path}.components[{k}]", "must be a component id")
        elif component_ids is not None and c not in component_ids:
            errors.add(f"{path}.components[{k}]", f"unknown component {c!r}")
        elif c not in comps:
            comps.append(c)
    contacts: list[ContactDef] = []
    seen_contacts: set[str] = set()
    for k, c in enumerate(f.listing("contacts")):
        cpath = f"{path}.contacts[{k}]"
        if not isinstance(c, dict):
            errors.add(cpath, "must be a mapping")
            continue
        cf = Fields(c, cpath, errors, trim=True)
        cf.known({"email", "name", "role", "notify"})
        email = cf.email("email", required=True)
        notify = cf.choice("notify", CONTACT_NOTIFY, default="all") or "all"
        contact_name, role = cf.text("name", max_len=200), cf.text("role", max_len=100)
        if email and email in seen_contacts:
            errors.add(f"{cpath}.email", f"duplicate contact {email}")
        elif email:
            seen_contacts.add(email)
            contacts.append(ContactDef(email=email, name=contact_name, role=role, notify=notify))
    tier, renewal = f.text("tier", max_len=50), f.date("renewal_date")
    locations: list[str] = []
    for k, loc in enumerate(f.listing("locations")):
        if not isinstance(loc, str) or not LOCATION_RE.fullmatch(loc.strip()):
            errors.add(f"{path}.locations[{k}]", "must be a location name: lowercase letters, digits and . _ -")
        elif loc.strip() not in locations:
            locations.append(loc.strip())
    if len(errors) != before or not aid or not name:
        return None
    return AccountDef(id=aid, name=name, arr=arr or Decimal(0), tier=tier, renewal_date=renewal, sla_target=sla,
                      owner=owner, team=team, components=comps, contacts=contacts, locations=locations)


def _parse_sla_coverage(data: Any, errors: ErrorCollector) -> float:
    if not isinstance(data, dict) or data.get("min_coverage_percent") is None:
        return 90.0
    value = Fields(data, "sla", errors).number("min_coverage_percent", minimum=0, maximum=100)
    return 90.0 if value is None else float(value)


def _parse_sla(data: Any, errors: ErrorCollector) -> list[dict[str, float]]:
    if data is None:
        return []
    if not isinstance(data, dict):
        errors.add("sla", "must be a mapping")
        return []
    f = Fields(data, "sla", errors)
    f.known({"credits", "min_coverage_percent"})
    ladder = []
    for i, rule in enumerate(f.listing("credits")):
        path = f"sla.credits[{i}]"
        if not isinstance(rule, dict):
            errors.add(path, "must be a mapping")
            continue
        rf = Fields(rule, path, errors)
        rf.known({"below", "credit_percent"})
        below = rf.number("below", required=True, minimum=0, maximum=100)
        credit = rf.number("credit_percent", required=True, minimum=0, maximum=100)
        if below is not None and credit is not None:
            ladder.append({"below": float(below), "credit_percent": float(credit)})
    return ladder


def _parse_causes(raw: list, errors: ErrorCollector) -> list[dict[str, str]]:
    if not raw:
        return [{"id": k, "name": CAUSE_LABELS[k]} for k in CAUSE_CATEGORIES]
    out = []
    for i, item in enumerate(raw):
        path = f"cause_categories[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be a mapping with id and name")
            continue
        f = Fields(item, path, errors, trim=True)
        f.known({"id", "name"})
        cid = f.text("id", required=True, max_len=40)
        name = f.text("name", required=True, max_len=100)
        cid = errors.check(f"{path}.id", as_slug, cid) if cid else None
        if cid and name:
            out.append({"id": cid, "name": name})
    return out


MAX_ARR = 999_999_999_999

TOP_LEVEL = {"page", "groups", "components", "accounts", "sla", "cause_categories", "locations"}
LOCATION_KEYS = ("locations", "quorum", "on_partial")


def _parse_locations(raw: list, errors: ErrorCollector) -> list[LocationDef]:
    """The optional top-level ``locations:`` list: the probe locations a file may name."""
    out: list[LocationDef] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"locations[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be a mapping with id (and optionally name, stale_after)")
            continue
        f = Fields(item, path, errors, trim=True)
        f.known({"id", "name", "stale_after"})
        lid = f.text("id", required=True, max_len=64)
        if lid and not LOCATION_RE.fullmatch(lid):
            errors.add(f"{path}.id", f"must be lowercase letters, digits and . _ - (at most 64), got {lid!r}")
            lid = None
        name = f.text("name", max_len=200)
        stale = f.duration("stale_after", minimum=15.0, maximum=86400.0)
        if lid and lid in seen:
            errors.add(f"{path}.id", f"duplicate location {lid!r}")
        elif lid:
            seen.add(lid)
            out.append(LocationDef(id=lid, name=name, stale_after=stale))
    return out


def _check_account_locations(accounts: list[AccountDef] | None, known: set[str], errors: ErrorCollector) -> None:
    listing = ", ".join(sorted(known))
    for i, acc in enumerate(accounts or []):
        for k, name in enumerate(acc.locations):
            if name not in known:
                errors.add(f"accounts[{i}].locations[{k}]", f"unknown location {name!r} (locations: {listing})")

# Bounds of what a configuration file may be: real files are a few hundred lines, a few levels deep.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 50
# Counted with every alias expanded (what validation would have to walk). A file written out is bounded by
# MAX_FILE_BYTES (20,000 checks are ≈ 220,000 values); aliases may add at most as much again.
MAX_NODES = 200_000
MAX_ALIAS_GROWTH = 2


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit and a bound on the document's expanded size.

    Aliases stay allowed (``<<: *defaults`` is handy), but a document whose aliases expand to more
    than ``MAX_NODES`` nodes (a "billion laughs" bomb: 342 bytes that expand to gigabytes) is refused
    before anything walks it; nesting deeper than ``MAX_DEPTH`` is refused while composing, before
    Python's recursion limit is reached.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(node: yaml.Node, memo: dict[int, int], limit: int = MAX_NODES) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (memoised per shared node)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1  # a cycle (a recursive alias) counts once instead of forever
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, memo, limit)
            if total > limit:
                break
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            total += _expanded_size(key, memo, limit) + _expanded_size(value, memo, limit)
            if total > limit:
                break
    memo[id(node)] = total
    return total


def _written_size(node: yaml.Node, seen: set[int]) -> int:
    """How many nodes the file itself holds (each alias target once)."""
    stack, total = [node], 0
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        total += 1
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
    return total


def _load_yaml(text: str) -> Any:
    """Parse YAML safely and within bounds; ConfigFileError with one line per problem."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            limit = max(MAX_NODES, MAX_ALIAS_GROWTH * _written_size(node, set()))
            if _expanded_size(node, {}, limit) > limit:
                raise ConfigFileError([f"file: too large once its aliases (*name) are expanded (more than "
                                       f"{limit:,} values); write the entries out or use fewer aliases"])
        return loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise ConfigFileError([f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    except RecursionError:
        raise ConfigFileError([f"file: nested too deeply (at most {MAX_DEPTH} levels)"]) from None
    finally:
        loader.dispose()


def parse_config(text: str, env: Mapping[str, str] | None = None) -> ConfigDoc:
    """Parse and validate a configuration file's text; raise ConfigFileError listing every problem."""
    import os

    env = os.environ if env is None else env
    errors = ErrorCollector()
    raw = _load_yaml(text)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigFileError(["(top level): must be a mapping with page, groups, components, accounts, sla"])
    raw = expand_env(raw, env, "", errors)
    top = Fields(raw, "", errors)
    top.known(TOP_LEVEL)
    page = _parse_page(raw.get("page"), errors)
    groups = _parse_groups(top.listing("groups"), errors)
    locations = known_locations = None
    if "locations" in raw:
        locations = _parse_locations(top.listing("locations"), errors)
        known_locations = {d.id for d in locations} | {(env.get("STATUSPAGE_LOCATION") or "local").strip()}
    components = _parse_components(top.listing("components"), {g.id for g in groups}, errors, known_locations)
    accounts = None
    if "accounts" in raw:
        accounts = []
        component_ids = {c.id for c in components}
        seen: set[str] = set()
        for i, item in enumerate(top.listing("accounts")):
            acc = parse_account(item, f"accounts[{i}]", component_ids, errors)
            if acc is not None:
                if acc.id in seen:
                    errors.add(f"accounts[{i}].id", f"duplicate account id {acc.id!r}")
                    continue
                seen.add(acc.id)
                accounts.append(acc)
    sla = _parse_sla(raw.get("sla"), errors)
    min_coverage = _parse_sla_coverage(raw.get("sla"), errors)
    causes = _parse_causes(top.listing("cause_categories"), errors)
    if known_locations is not None:
        _check_account_locations(accounts, known_locations, errors)
    if errors.errors:
        raise ConfigFileError(errors.errors)
    return ConfigDoc(page=page, groups=groups, components=components, accounts=accounts,
                     sla_credits=sla, cause_categories=causes, sla_min_coverage_percent=min_coverage,
                     locations=locations)


def load_config_file(path: str, env: Mapping[str, str] | None = None) -> ConfigDoc:
    """Read and parse a config file from disk (UTF-8, at most MAX_FILE_BYTES)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigFileError([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigFileError([f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; "
                               "a configuration file is never that big"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigFileError([f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file "
                               "as UTF-8"]) from None
    return parse_config(text, env)
