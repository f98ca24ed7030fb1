"""Settings from the environment: typed, validated, failing loudly.

Nothing here runs at import time; ``load_settings`` is called by ``create_app``.
A bad value raises ``SettingsError`` naming the variable, and start-up stops.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .outbound import parse_nameserver, parse_networks


class SettingsError(RuntimeError):
    """A setting from the environment is missing or malformed."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Read a boolean; anything but true/false/1/0/yes/no/on/off is an error."""
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """Read an integer within bounds."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name}: must be ≥ {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name}: must be ≤ {maximum}, got {value}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, *, minimum: float | None = None) -> float:
    """Read a float within bounds."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name}: must be ≥ {minimum}, got {value}")
    return value


def env_secret(env: Mapping[str, str], name: str) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (for Docker/systemd secrets)."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
    return None


def env_url(env: Mapping[str, str], name: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """Read an absolute URL with one of the given schemes."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    parts = urlsplit(raw.strip())
    if parts.scheme not in schemes or not parts.netloc:
        raise SettingsError(f"{name}: expected an absolute {'/'.join(schemes)} URL, got {raw!r}")
    return raw.strip().rstrip("/")


def env_choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    """Read one word out of a fixed set."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise SettingsError(f"{name}: expected one of {', '.join(choices)}, got {raw!r}")
    return value


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator used."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    public_url: str | None
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_tls: str
    smtp_timeout: float
    mail_from: str
    mail_send_rate: float
    mail_dir: Path
    ratelimit_storage_url: str
    login_rate_limit: str
    subscribe_rate_limit: str
    ping_rate_limit: str
    subscription_mail_interval: int  # seconds between two link mails to one address on public requests
    # True/False when STATUSPAGE_SECURE_COOKIES or STATUSPAGE_PUBLIC_URL decides; None: follow the page's
    # configured URL (config file ``page.url``), read per response (web/sessions.py).
    session_cookie_secure: bool | None
    export_dir: Path | None
    result_retention_days: int
    worker_batch_size: int
    max_probes_in_flight: int
    metrics_token: str | None
    log_json: bool
    monitoring_stale_after: int
    worker_metrics_port: int | None
    # Public caching (issue 5): Cache-Control max-age / stale-while-revalidate and the per-process
    # render cache size; a version check interval > 0 trades freshness (≤ that many seconds) for load.
    public_max_age: int = 10
    public_stale_while_revalidate: int = 30
    render_cache_entries: int = 512
    version_check_interval: float = 0.5
    # Outbox delivery: how long a claimed batch stays reserved (renewed as it progresses) before another
    # worker may take it over (a dead worker's batch), and how many permanent bounces quarantine a subscriber.
    outbox_lease_seconds: float = 120.0
    mail_bounce_limit: int = 3
    webhook_failure_limit: int = 5
    # /healthz/monitoring answers 503 when a live worker's probe start lag (p99 over the last minute)
    # exceeds this many seconds: probes run, but late.
    monitoring_max_start_lag: float = 10.0
    # Set when STATUSPAGE_WORKER_THREADS (the thread pool's setting, now an alias) was used.
    deprecated: list[str] = field(default_factory=list)
    # Outbound requests to user-configured URLs (webhooks): networks allowed although not public, and
    # the nameserver to resolve their hosts with (None: the system resolver). See statuspage/outbound.py.
    outbound_allow: tuple = ()
    outbound_nameserver: tuple[str, int] | None = None
    # Probe locations (issue 14): the local worker's own location name, and how long a location may stay
    # silent before it counts as stale (unknown: never down, never up) — a config file's locations[].stale_after
    # overrides it per location.
    location: str = "local"
    probe_stale_after: float = 120.0
    extra: dict = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def ratelimit_storage_uri(self) -> str:
        """The ``limits`` storage URI: ``database`` means the app's database (statuspage/ratelimit.py)."""
        return "statuspage+db://" if self.ratelimit_storage_url in ("", "database") else self.ratelimit_storage_url


def _ensure_secret_key(instance_path: Path) -> str:
    """Embedded mode: generate a secret once and keep it in the instance folder."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must agree on one key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _uses_old_thread_setting(env: Mapping[str, str]) -> bool:
    return bool((env.get("STATUSPAGE_WORKER_THREADS") or "").strip()) and not (
        env.get("STATUSPAGE_MAX_PROBES_IN_FLIGHT") or "").strip()


def _max_probes_in_flight(env: Mapping[str, str]) -> int:
    # STATUSPAGE_WORKER_THREADS sized the old thread pool; it is read as the new bound only when the new
    # name is absent, so existing deployments keep starting (the worker logs that the name is deprecated).
    if _uses_old_thread_setting(env):
        return env_int(env, "STATUSPAGE_WORKER_THREADS", 2000, minimum=1, maximum=100_000)
    return env_int(env, "STATUSPAGE_MAX_PROBES_IN_FLIGHT", 2000, minimum=1, maximum=100_000)


LOCATION_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def _location(env: Mapping[str, str]) -> str:
    value = (env.get("STATUSPAGE_LOCATION") or "local").strip()
    if not LOCATION_NAME.match(value):
        raise SettingsError(f"STATUSPAGE_LOCATION: must be lowercase letters, digits and . _ - (at most 64), "
                            f"got {value!r}")
    return value


def _version_check_interval(env: Mapping[str, str]) -> float:
    # Public caches may trust the site version they read for this long; ≤ 1 s keeps the promise that a
    # change is visible on every replica within a second.
    value = env_float(env, "STATUSPAGE_VERSION_CHECK_INTERVAL", 0.5, minimum=0.0)
    if value > 1.0:
        raise SettingsError(f"STATUSPAGE_VERSION_CHECK_INTERVAL: must be ≤ 1 (seconds), got {value}")
    return value


def _secure_cookies(env: Mapping[str, str]) -> bool | None:
    if (env.get("STATUSPAGE_SECURE_COOKIES") or "").strip():
        return env_bool(env, "STATUSPAGE_SECURE_COOKIES", False)
    public_url = env_url(env, "STATUSPAGE_PUBLIC_URL")
    return public_url.startswith("https://") if public_url else None


def _outbound(env: Mapping[str, str]) -> tuple[tuple, tuple[str, int] | None]:
    try:
        allow = parse_networks(env.get("STATUSPAGE_OUTBOUND_ALLOW") or "")
    except ValueError as exc:
        raise SettingsError(f"STATUSPAGE_OUTBOUND_ALLOW: {exc}") from None
    raw = (env.get("STATUSPAGE_OUTBOUND_NAMESERVER") or "").strip()
    try:
        nameserver = parse_nameserver(raw) if raw else None
    except ValueError as exc:
        raise SettingsError(f"STATUSPAGE_OUTBOUND_NAMESERVER: {exc}") from None
    return allow, nameserver


def load_settings(env: Mapping[str, str] | None = None, *, default_instance: Path | None = None) -> Settings:
    """Build Settings from an environment mapping (``os.environ`` by default)."""
    env = os.environ if env is None else env
    instance_path = Path(env.get("STATUSPAGE_INSTANCE_PATH") or default_instance or Path.cwd() / "instance")
    instance_path = instance_path.expanduser().resolve()

    database_url = env.get("DATABASE_URL", "").strip()
    if not database_url:
        database_url = f"sqlite:///{instance_path / 'statuspage.db'}"
    elif not (database_url.startswith("sqlite") or database_url.startswith("postgres")):
        raise SettingsError(f"DATABASE_URL: expected a sqlite:/// or postgresql:// URL, got {database_url!r}")
    database_url = normalize_database_url(database_url)

    secret_key = env_secret(env, "SECRET_KEY")
    if secret_key is not None and len(secret_key) < 16:
        raise SettingsError("SECRET_KEY: must be at least 16 characters")
    if secret_key is None:
        secret_key = _ensure_secret_key(instance_path)

    smtp_tls = env_choice(env, "STATUSPAGE_SMTP_TLS", ("none", "starttls", "ssl"), "none")
    default_port = {"none": 25, "starttls": 587, "ssl": 465}[smtp_tls]
    smtp_host = (env.get("STATUSPAGE_SMTP_HOST") or "").strip() or None
    mail_from = (env.get("STATUSPAGE_MAIL_FROM") or "status@localhost").strip()
    if "@" not in mail_from or "\n" in mail_from or "\r" in mail_from:
        raise SettingsError(f"STATUSPAGE_MAIL_FROM: expected an email address, got {mail_from!r}")

    export_dir = env.get("STATUSPAGE_EXPORT_DIR")
    if env_float(env, "STATUSPAGE_VERSION_CHECK_INTERVAL", 0.0, minimum=0.0) > 1.0:
        raise SettingsError("STATUSPAGE_VERSION_CHECK_INTERVAL: must be ≤ 1 (a change shows on every replica "
                            "within a second)")
    outbound_allow, outbound_nameserver = _outbound(env)
    return Settings(
        instance_path=instance_path,
        database_url=database_url,
        secret_key=secret_key,
        public_url=env_url(env, "STATUSPAGE_PUBLIC_URL"),
        smtp_host=smtp_host,
        smtp_port=env_int(env, "STATUSPAGE_SMTP_PORT", default_port, minimum=1, maximum=65535),
        smtp_user=(env.get("STATUSPAGE_SMTP_USER") or None),
        smtp_password=env_secret(env, "STATUSPAGE_SMTP_PASSWORD"),
        smtp_tls=smtp_tls,
        smtp_timeout=env_float(env, "STATUSPAGE_SMTP_TIMEOUT", 30.0, minimum=1.0),
        mail_from=mail_from,
        mail_send_rate=env_float(env, "STATUSPAGE_MAIL_RATE", 0.0, minimum=0.0),
        mail_dir=Path(env.get("STATUSPAGE_MAIL_DIR") or instance_path / "mail"),
        ratelimit_storage_url=(env.get("STATUSPAGE_RATELIMIT_STORAGE_URL") or "database").strip(),
        login_rate_limit=(env.get("STATUSPAGE_LOGIN_RATE_LIMIT") or "10 per minute"),
        subscribe_rate_limit=(env.get("STATUSPAGE_SUBSCRIBE_RATE_LIMIT") or "5 per minute"),
        ping_rate_limit=(env.get("STATUSPAGE_PING_RATE_LIMIT") or "30 per minute"),
        subscription_mail_interval=env_int(env, "STATUSPAGE_SUBSCRIPTION_MAIL_INTERVAL", 3600, minimum=0,
                                           maximum=7 * 86400),
        session_cookie_secure=_secure_cookies(env),
        export_dir=Path(export_dir).expanduser().resolve() if export_dir else None,
        result_retention_days=env_int(env, "STATUSPAGE_RESULT_RETENTION_DAYS", 7, minimum=1),
        worker_batch_size=env_int(env, "STATUSPAGE_WORKER_BATCH", 500, minimum=1, maximum=100000),
        max_probes_in_flight=_max_probes_in_flight(env),
        metrics_token=env_secret(env, "STATUSPAGE_METRICS_TOKEN"),
        log_json=env_bool(env, "STATUSPAGE_LOG_JSON", False),
        monitoring_stale_after=env_int(env, "STATUSPAGE_MONITORING_STALE_AFTER", 300, minimum=10),
        location=_location(env),
        probe_stale_after=env_float(env, "STATUSPAGE_PROBE_STALE_AFTER", 120.0, minimum=15.0),
        worker_metrics_port=env_int(env, "STATUSPAGE_WORKER_METRICS_PORT", 0, minimum=0, maximum=65535) or None,
        public_max_age=env_int(env, "STATUSPAGE_PUBLIC_MAX_AGE", 10, minimum=0, maximum=86400),
        public_stale_while_revalidate=env_int(env, "STATUSPAGE_PUBLIC_STALE_WHILE_REVALIDATE", 30,
                                              minimum=0, maximum=86400),
        render_cache_entries=env_int(env, "STATUSPAGE_RENDER_CACHE_ENTRIES", 512, minimum=0, maximum=100000),
        version_check_interval=_version_check_interval(env),
        outbox_lease_seconds=env_float(env, "STATUSPAGE_OUTBOX_LEASE", 120.0, minimum=1.0),
        mail_bounce_limit=env_int(env, "STATUSPAGE_MAIL_BOUNCE_LIMIT", 3, minimum=1),
        webhook_failure_limit=env_int(env, "STATUSPAGE_WEBHOOK_FAILURE_LIMIT", 5, minimum=1),
        monitoring_max_start_lag=env_float(env, "STATUSPAGE_MONITORING_MAX_START_LAG", 10.0, minimum=1.0),
        deprecated=["STATUSPAGE_WORKER_THREADS"] if _uses_old_thread_setting(env) else [],
        outbound_allow=outbound_allow,
        outbound_nameserver=outbound_nameserver,
    )
