"""The configuration file: parse, expand ${ENV}, validate every section, list every error with its path.

Pure: no database. ``services.config_sync`` applies a validated ``ConfigDoc``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import yaml

from checks.durations import parse_duration
from checks.errors import ConfigError
from checks.spec import CheckSpec, parse_check_spec

from .models.constants import AUTO_INCIDENT_MODES, CAUSE_CATEGORIES, CAUSE_LABELS, CONTACT_NOTIFY

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
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


class ErrorCollector:
    """Collects errors with their paths instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}" if path else message)


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


def _known_keys(data: dict, allowed: set[str], path: str, errors: ErrorCollector) -> None:
    for key in data:
        if key not in allowed:
            close = [a for a in sorted(allowed) if a[:3] == str(key)[:3]]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.add(f"{path}.{key}" if path else str(key), f"unknown key{hint}")


def _str(data: dict, key: str, path: str, errors: ErrorCollector, *, required: bool = False,
         max_len: int = 300) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            errors.add(f"{path}.{key}", "required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.add(f"{path}.{key}", f"must be a string, got {type(value).__name__}")
        return None
    value = str(value).strip()
    if required and not value:
        errors.add(f"{path}.{key}", "must not be empty")
        return None
    if len(value) > max_len:
        errors.add(f"{path}.{key}", f"must be at most {max_len} characters")
        return None
    return value


def _bool(data: dict, key: str, path: str, errors: ErrorCollector, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        errors.add(f"{path}.{key}", f"must be true or false, got {value!r}")
        return default
    return value


def _email(value: Any, path: str, errors: ErrorCollector) -> str | None:
    if not isinstance(value, str) or not EMAIL.match(value.strip()):
        errors.add(path, f"not an email address: {value!r}")
        return None
    return value.strip().lower()


def _date(value: Any, path: str, errors: ErrorCollector) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.add(path, f"expected a date like 2027-03-31, got {value!r}")
        return None


def _number(value: Any, path: str, errors: ErrorCollector, *, minimum: float | None = None,
            maximum: float | None = None, exclusive_min: bool = False) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        errors.add(path, f"expected a number, got {value!r}")
        return None
    try:
        number = Decimal(str(value).replace("_", "").replace(",", "").strip())
    except InvalidOperation:
        errors.add(path, f"expected a number, got {value!r}")
        return None
    if not number.is_finite():
        errors.add(path, f"expected a finite number, got {value!r}")
        return None
    if minimum is not None and (number < Decimal(str(minimum)) or (exclusive_min and number == Decimal(str(minimum)))):
        errors.add(path, f"must be {'>' if exclusive_min else '≥'} {minimum}")
        return None
    if maximum is not None and number > Decimal(str(maximum)):
        errors.add(path, f"must be ≤ {maximum}")
        return None
    return number


def _list(data: dict, key: str, path: str, errors: ErrorCollector) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(f"{path}.{key}" if path else key, f"must be a list, got {type(value).__name__}")
        return []
    return value


def _parse_page(data: Any, errors: ErrorCollector) -> PageDef:
    page = PageDef()
    if data is None:
        return page
    if not isinstance(data, dict):
        errors.add("page", "must be a mapping")
        return page
    _known_keys(data, {"name", "url", "time_zone", "on_call", "uptime", "currency"}, "page", errors)
    page.name = _str(data, "name", "page", errors, required=True, max_len=200) or page.name
    url = _str(data, "url", "page", errors, max_len=500)
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.add("page.url", f"expected an absolute http(s) URL, got {url!r}")
        else:
            page.url = url.rstrip("/")
    tz = _str(data, "time_zone", "page", errors, max_len=64)
    if tz:
        try:
            zoneinfo.ZoneInfo(tz)
            page.time_zone = tz
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.add("page.time_zone", f"unknown IANA time zone {tz!r}")
    if data.get("on_call") is not None:
        page.on_call = _email(data["on_call"], "page.on_call", errors)
    currency = _str(data, "currency", "page", errors, max_len=3)
    if currency:
        if not re.fullmatch(r"[A-Z]{3}", currency):
            errors.add("page.currency", f"expected an ISO 4217 code like USD or EUR, got {currency!r}")
        else:
            page.currency = currency
    uptime = data.get("uptime")
    if uptime is not None:
        if not isinstance(uptime, dict):
            errors.add("page.uptime", "must be a mapping")
        else:
            _known_keys(uptime, {"partial_outage_weight", "degraded_weight"}, "page.uptime", errors)
            for key in ("partial_outage_weight", "degraded_weight"):
                if key in uptime:
                    n = _number(uptime[key], f"page.uptime.{key}", errors, minimum=0, maximum=1)
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
        _known_keys(item, {"id", "name", "description"}, path, errors)
        gid = _str(item, "id", path, errors, required=True, max_len=100)
        name = _str(item, "name", path, errors, required=True, max_len=200)
        if gid and not SLUG.match(gid):
            errors.add(f"{path}.id", f"must be a slug (lowercase letters, digits, - and _), got {gid!r}")
            gid = None
        if gid and gid in seen:
            errors.add(f"{path}.id", f"duplicate group id {gid!r}")
            gid = None
        if gid and name:
            seen.add(gid)
            groups.append(GroupDef(id=gid, name=name, description=_str(item, "description", path, errors,
                                                                          max_len=2000)))
    return groups


def _parse_components(raw: list, group_ids: set[str], errors: ErrorCollector) -> list[ComponentDef]:
    components: list[ComponentDef] = []
    seen: set[str] = set()
    check_ids: dict[str, str] = {}
    allowed = {"id", "name", "group", "description", "public", "showcase", "only_show_if_degraded",
               "auto_incident", "auto_resolve_after", "start_date", "checks"}
    for i, item in enumerate(raw):
        path = f"components[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be a mapping")
            continue
        _known_keys(item, allowed, path, errors)
        cid = _str(item, "id", path, errors, required=True, max_len=100)
        name = _str(item, "name", path, errors, required=True, max_len=200)
        if cid and not SLUG.match(cid):
            errors.add(f"{path}.id", f"must be a slug (lowercase letters, digits, - and _), got {cid!r}")
            cid = None
        if cid and cid in seen:
            errors.add(f"{path}.id", f"duplicate component id {cid!r}")
            cid = None
        group = _str(item, "group", path, errors, max_len=100)
        if group and group not in group_ids:
            errors.add(f"{path}.group", f"unknown group {group!r}" + (
                f" (groups: {', '.join(sorted(group_ids))})" if group_ids else " (no groups are defined)"))
        auto = item.get("auto_incident", "draft")
        if auto is False:
            auto = "off"
        if auto not in AUTO_INCIDENT_MODES:
            errors.add(f"{path}.auto_incident", f"must be one of {', '.join(AUTO_INCIDENT_MODES)}, got {auto!r}")
            auto = "draft"
        auto_resolve = None
        if item.get("auto_resolve_after") is not None:
            try:
                auto_resolve = parse_duration(item["auto_resolve_after"])
            except ConfigError as exc:
                errors.add(f"{path}.auto_resolve_after", str(exc))
        comp = ComponentDef(
            id=cid or "", name=name or "", group=group,
            description=_str(item, "description", path, errors, max_len=2000),
            public=_bool(item, "public", path, errors, True),
            showcase=_bool(item, "showcase", path, errors, True),
            only_show_if_degraded=_bool(item, "only_show_if_degraded", path, errors, False),
            auto_incident=auto, auto_resolve_after=auto_resolve,
            start_date=_date(item.get("start_date"), f"{path}.start_date", errors),
        )
        for j, check in enumerate(_list(item, "checks", path, errors)):
            cpath = f"{path}.checks[{j}]"
            if not isinstance(check, dict):
                errors.add(cpath, "must be a mapping")
                continue
            spec, problems = parse_check_spec(check)
            for field_path, message in problems:
                errors.add(f"{cpath}.{field_path}" if field_path else cpath, message)
            raw_id = check.get("id")
            if isinstance(raw_id, str) and raw_id:
                if raw_id in check_ids:
                    errors.add(f"{cpath}.id", f"duplicate check id {raw_id!r} (first used in {check_ids[raw_id]})")
                    continue
                check_ids[raw_id] = cpath
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
    _known_keys(item, {"id", "name", "arr", "tier", "renewal_date", "sla_target", "owner", "team",
                       "components", "contacts"}, path, errors)
    before = len(errors.errors)
    aid = _str(item, "id", path, errors, required=True, max_len=100)
    if aid and not EXTERNAL_ID.match(aid):
        errors.add(f"{path}.id", f"must be letters, digits and . _ : - only, got {aid!r}")
    name = _str(item, "name", path, errors, required=True, max_len=300)
    arr = Decimal(0)
    if item.get("arr") is not None:
        arr = _number(item["arr"], f"{path}.arr", errors, minimum=0) or Decimal(0)
    sla = None
    if item.get("sla_target") is not None:
        sla = _number(item["sla_target"], f"{path}.sla_target", errors, minimum=0, maximum=100, exclusive_min=True)
    owner = _email(item["owner"], f"{path}.owner", errors) if item.get("owner") else None
    team_raw = item.get("team") or []
    if isinstance(team_raw, str):
        team_raw = [team_raw]
    team = []
    if not isinstance(team_raw, list):
        errors.add(f"{path}.team", "must be a list of email addresses")
    else:
        for k, t in enumerate(team_raw):
            email = _email(t, f"{path}.team[{k}]", errors)
            if email and email not in team:
                team.append(email)
    comps: list[str] = []
    for k, c in enumerate(_list(item, "components", path, errors)):
        if not isinstance(c, str):
            errors.add(f"{path}.components[{k}]", "must be a component id")
        elif component_ids is not None and c not in component_ids:
            errors.add(f"{path}.components[{k}]", f"unknown component {c!r}")
        elif c not in comps:
            comps.append(c)
    contacts: list[ContactDef] = []
    seen_contacts: set[str] = set()
    for k, c in enumerate(_list(item, "contacts", path, errors)):
        cpath = f"{path}.contacts[{k}]"
        if not isinstance(c, dict):
            errors.add(cpath, "must be a mapping")
            continue
        _known_keys(c, {"email", "name", "role", "notify"}, cpath, errors)
        email = _email(c.get("email"), f"{cpath}.email", errors)
        notify = c.get("notify", "all")
        if notify not in CONTACT_NOTIFY:
            errors.add(f"{cpath}.notify", f"must be one of {', '.join(CONTACT_NOTIFY)}, got {notify!r}")
            notify = "all"
        if email and email in seen_contacts:
            errors.add(f"{cpath}.email", f"duplicate contact {email}")
        elif email:
            seen_contacts.add(email)
            contacts.append(ContactDef(email=email, name=_str(c, "name", cpath, errors, max_len=200),
                                       role=_str(c, "role", cpath, errors, max_len=100), notify=notify))
    if len(errors.errors) != before or not aid or not name:
        return None
    return AccountDef(id=aid, name=name, arr=arr, tier=_str(item, "tier", path, errors, max_len=50),
                      renewal_date=_date(item.get("renewal_date"), f"{path}.renewal_date", errors),
                      sla_target=sla, owner=owner, team=team, components=comps, contacts=contacts)


def _parse_sla_coverage(data: Any, errors: ErrorCollector) -> float:
    if not isinstance(data, dict) or data.get("min_coverage_percent") is None:
        return 90.0
    value = _number(data["min_coverage_percent"], "sla.min_coverage_percent", errors, minimum=0, maximum=100)
    return 90.0 if value is None else float(value)


def _parse_sla(data: Any, errors: ErrorCollector) -> list[dict[str, float]]:
    if data is None:
        return []
    if not isinstance(data, dict):
        errors.add("sla", "must be a mapping")
        return []
    _known_keys(data, {"credits", "min_coverage_percent"}, "sla", errors)
    ladder = []
    for i, rule in enumerate(_list(data, "credits", "sla", errors)):
        path = f"sla.credits[{i}]"
        if not isinstance(rule, dict):
            errors.add(path, "must be a mapping")
            continue
        _known_keys(rule, {"below", "credit_percent"}, path, errors)
        below = _number(rule.get("below"), f"{path}.below", errors, minimum=0, maximum=100)
        credit = _number(rule.get("credit_percent"), f"{path}.credit_percent", errors, minimum=0, maximum=100)
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
        _known_keys(item, {"id", "name"}, path, errors)
        cid = _str(item, "id", path, errors, required=True, max_len=40)
        name = _str(item, "name", path, errors, required=True, max_len=100)
        if cid and not SLUG.match(cid):
            errors.add(f"{path}.id", f"must be a slug, got {cid!r}")
        elif cid and name:
            out.append({"id": cid, "name": name})
    return out


TOP_LEVEL = {"page", "groups", "components", "accounts", "sla", "cause_categories"}


def parse_config(text: str, env: Mapping[str, str] | None = None) -> ConfigDoc:
    """Parse and validate a configuration file's text; raise ConfigFileError listing every problem."""
    import os

    env = os.environ if env is None else env
    errors = ErrorCollector()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise ConfigFileError([f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigFileError(["(top level): must be a mapping with page, groups, components, accounts, sla"])
    raw = expand_env(raw, env, "", errors)
    _known_keys(raw, TOP_LEVEL, "", errors)
    page = _parse_page(raw.get("page"), errors)
    groups = _parse_groups(_list(raw, "groups", "", errors), errors)
    components = _parse_components(_list(raw, "components", "", errors), {g.id for g in groups}, errors)
    accounts = None
    if "accounts" in raw:
        accounts = []
        component_ids = {c.id for c in components}
        seen: set[str] = set()
        for i, item in enumerate(_list(raw, "accounts", "", errors)):
            acc = parse_account(item, f"accounts[{i}]", component_ids, errors)
            if acc is not None:
                if acc.id in seen:
                    errors.add(f"accounts[{i}].id", f"duplicate account id {acc.id!r}")
                    continue
                seen.add(acc.id)
                accounts.append(acc)
    sla = _parse_sla(raw.get("sla"), errors)
    min_coverage = _parse_sla_coverage(raw.get("sla"), errors)
    causes = _parse_causes(_list(raw, "cause_categories", "", errors), errors)
    if errors.errors:
        raise ConfigFileError(errors.errors)
    return ConfigDoc(page=page, groups=groups, components=components, accounts=accounts,
                     sla_credits=sla, cause_categories=causes, sla_min_coverage_percent=min_coverage)


def load_config_file(path: str, env: Mapping[str, str] | None = None) -> ConfigDoc:
    """Read and parse a config file from disk."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigFileError([f"{path}: cannot read: {exc.strerror}"]) from None
    return parse_config(text, env)
