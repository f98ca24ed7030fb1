"""People and machine tokens: creation, password hashing (argon2), token hashing (sha256), and the
first run's one-time setup link that creates the first admin."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, text

from checks.spec import LOCATION_RE

from ..db import is_postgres, utcnow
from ..extensions import db
from ..models import ApiToken, User
from ..models.constants import ROLES
from ..text import text_problem
from .audit import Actor, record
from .monitoring.locations import ensure_locations

_hasher = PasswordHasher()
TOKEN_PREFIX = "sp_"
MIN_PASSWORD = 10


class UserError(ValueError):
    """A request about users or tokens that cannot be honoured; the message says why."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    """Constant-time check; rehashes transparently when argon2 parameters change."""
    try:
        ok = _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if ok and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return ok


# A hash of a random password, verified when the email is unknown so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.is_active:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    return user if verify_password(user, password) else None


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must be at least {MIN_PASSWORD} characters", "password")


def create_user(email: str, role: str, password: str, *, name: str | None = None,
                actor: Actor | None = None) -> User:
    """Create a person with a role; fails on a duplicate email, unknown role or short password."""
    user = _add_user(email, role, password, name=name, actor=actor)
    db.session.commit()
    return user


def _add_user(email: str, role: str, password: str, *, name: str | None, actor: Actor | None) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or text_problem(email):
        raise UserError(f"not an email address: {email!r}", "email")
    if name and text_problem(name):
        raise UserError(f"name {text_problem(name)}", "name")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}", "role")
    validate_password(password)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise UserError(f"a user with email {email} already exists", "email")
    user = User(email=email, role=role, name=name, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    record(actor or Actor.cli(), "user.create", "user", user.id, after={"email": email, "role": role})
    return user


def change_password(user: User, current: str, new: str, *, actor: Actor) -> None:
    if not verify_password(user, current):
        raise UserError("current password is wrong", "current_password")
    validate_password(new)
    user.password_hash = hash_password(new)
    user.session_version = (user.session_version or 1) + 1  # other sessions end
    record(actor, "user.password_change", "user", user.id)
    db.session.commit()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOKEN_SCOPES = ("read", "write", "probe")


def create_token(name: str, scope: str, *, actor: Actor | None = None, created_by_id: int | None = None,
                 location: str | None = None) -> tuple[ApiToken, str]:
    """Create an API token; returns (row, plaintext). Only the sha256 of the token is stored.

    A ``probe`` token belongs to one probe agent: it reads ``location``'s checks and posts its results
    (``/api/v1/probe/<location>/…``), nothing else.
    """
    if scope not in TOKEN_SCOPES:
        raise UserError("scope must be read, write or probe", "scope")
    if scope == "probe":
        location = (location or "").strip()
        if not LOCATION_RE.fullmatch(location):
            raise UserError("a probe token needs a location: lowercase letters, digits and . _ - (at most 64)",
                            "location")
    elif location:
        raise UserError("only a probe token has a location", "location")
    name = name.strip()
    if not name or len(name) > 200:
        raise UserError("name is required (at most 200 characters)", "name")
    if text_problem(name):
        raise UserError(f"name {text_problem(name)}", "name")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, scope=scope, prefix=plaintext[:10], token_hash=_token_hash(plaintext),
                     created_by_id=created_by_id, location=location or None)
    db.session.add(token)
    if scope == "probe":
        ensure_locations([location])
    db.session.flush()
    after = {"name": name, "scope": scope} | ({"location": location} if location else {})
    record(actor or Actor.cli(), "token.create", "api_token", token.id, after=after)
    db.session.commit()
    return token, plaintext


def find_token(plaintext: str, *, probe: bool = False) -> ApiToken | None:
    """The live token for a bearer string, or None (unknown or revoked).

    Probe tokens are their own scope: found only when ``probe`` is asked for (the probe API), and
    management tokens only when it is not — so no other view can be opened with an agent's token.
    """
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(plaintext)))
    if token is None or token.revoked_at is not None or (token.scope == "probe") != probe:
        return None
    return token


TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)


def note_token_use(token: ApiToken, now: dt.datetime | None = None) -> None:
    """Remember when a token was last used (shown on the tokens page); at most one write a minute per token.

    Commits when it writes: before the request's own work, so that work starts a fresh transaction.
    """
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        token.last_used_at = now
        db.session.commit()


def record_login(user: User, *, actor: Actor) -> None:
    """A person signed in: when (shown on the users page), and the audit row. Commits."""
    user.last_login_at = utcnow()
    record(actor, "auth.login", "user", user.id)
    db.session.commit()


def record_failed_login(email: str, *, ip: str | None) -> None:
    """A sign-in with a wrong email or password, audited under the address that was tried. Commits."""
    record(Actor(type="anonymous", label=email.strip().lower()[:320], ip=ip), "auth.login_failed", "user", None)
    db.session.commit()


def record_logout(user: User, *, actor: Actor) -> None:
    """A person signed out: bump their session version, so every session cookie issued so far — this one
    and a copy someone saved — stops working. Commits."""
    user.session_version = (user.session_version or 1) + 1
    record(actor, "auth.logout", "user", user.id)
    db.session.commit()


def revoke_token(token: ApiToken, *, actor: Actor) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(actor, "token.revoke", "api_token", token.id, before={"name": token.name})
        db.session.commit()


def set_role(user: User, role: str, *, actor: Actor) -> None:
    """Change a person's role; the last active admin cannot be demoted."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}", "role")
    if user.role == role:
        return
    if user.role == "admin" and _active_admins() <= 1:
        raise UserError("the last admin cannot be demoted", "role")
    record(actor, "user.role", "user", user.id, before={"role": user.role}, after={"role": role})
    user.role = role
    user.session_version = (user.session_version or 1) + 1  # re-login picks up the new role everywhere
    db.session.commit()


def set_disabled(user: User, disabled: bool, *, actor: Actor) -> None:
    """Disable (ends every session) or re-enable a person; the last active admin cannot be disabled."""
    if disabled == (user.disabled_at is not None):
        return
    if disabled and user.role == "admin" and _active_admins() <= 1:
        raise UserError("the last admin cannot be disabled", "disabled")
    user.disabled_at = utcnow() if disabled else None
    user.session_version = (user.session_version or 1) + 1
    record(actor, "user.disable" if disabled else "user.enable", "user", user.id)
    db.session.commit()


def _active_admins() -> int:
    return int(db.session.scalar(select(func.count(User.id)).where(
        User.role == "admin", User.disabled_at.is_(None))) or 0)


# --- first run ---------------------------------------------------------------------------------------

SETUP_SALT = "statuspage.first-admin"
SETUP_MAX_AGE = 7 * 24 * 3600  # `statuspage run` prints a fresh link at every start


def admin_exists() -> bool:
    """Whether any admin account exists (enabled or not): the setup link works only until one does."""
    return db.session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None


def _setup_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SETUP_SALT)


def setup_token() -> str:
    """A signed token for the one-time setup link (``/setup/<token>``) that creates the first admin.

    Stateless (signed with SECRET_KEY, so every web process accepts it) and valid for 7 days, but only
    while no admin exists: once the first admin is created every setup link is dead.
    """
    return _setup_serializer().dumps("first-admin")


def setup_token_valid(token: str) -> bool:
    """Whether ``token`` is a setup token of this instance, not expired, and no admin exists yet."""
    try:
        purpose = _setup_serializer().loads(token, max_age=SETUP_MAX_AGE)
    except BadSignature:
        return False
    return purpose == "first-admin" and not admin_exists()


def create_first_admin(email: str, password: str, *, name: str | None = None, ip: str | None = None) -> User:
    """Create the first admin from the setup link and record their sign-in; UserError once an admin
    exists (the link is spent).

    Two submissions racing: on PostgreSQL an advisory lock serialises them, on SQLite the write
    transaction (BEGIN IMMEDIATE) does, so only the first creates an admin.
    """
    if is_postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(7291001)"))
    if admin_exists():
        db.session.rollback()
        raise UserError("an admin exists already: sign in instead", "email")
    user = _add_user(email, "admin", password, name=name,
                     actor=Actor(type="anonymous", label="setup link", role="admin", ip=ip))
    # The setup page signs the new admin in: the sign-in is recorded like any other, in this transaction.
    user.last_login_at = utcnow()
    record(Actor(type="user", id=user.id, label=user.email, ip=ip, role="admin"), "auth.login", "user", user.id)
    db.session.commit()
    return user
