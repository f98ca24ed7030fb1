"""Signed, expiring links in subscriber mail: confirm, manage, unsubscribe.

A token holds the subscriber id and ``Subscriber.token_version`` (itsdangerous, a salt per purpose);
bumping the version revokes every link issued so far.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes

from ...extensions import db
from ...models import Subscriber
from ..page import public_base_url

# How long each kind of link works. Confirmation is short; unsubscribe must keep working for a long
# time after the mail was sent (mailbox providers expect it).
TOKEN_MAX_AGE = {
    "confirm": 2 * 24 * 3600,
    "manage": 90 * 24 * 3600,
    "unsubscribe": 365 * 24 * 3600,
}


# Paths of the public links (statuspage/web/subscribe.py serves them); built without a request context
# because the worker writes the mail.
LINK_PATHS = {
    "confirm": "/subscribe/confirm/",
    "manage": "/subscribe/manage/",
    "unsubscribe": "/unsubscribe/",
}


class TokenError(ValueError):
    """A link token that is tampered with, expired, revoked, or for another purpose."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


_serializers: dict[tuple[str, str], URLSafeTimedSerializer] = {}


class _CachedKeySigner(TimestampSigner):
    """Derives the (secret, salt) key once instead of per token: a fan-out signs two tokens a recipient."""

    _cache: dict[tuple, bytes] = {}

    def derive_key(self, secret_key=None):
        # The serializer makes a new signer per token, so the cache lives on the class.
        ident = (secret_key if secret_key is not None else self.secret_keys[-1], self.salt)
        key = self._cache.get(ident)
        if key is None:
            key = self._cache[ident] = super().derive_key(secret_key)
        return key


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in TOKEN_MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    secret = current_app.config["SECRET_KEY"]
    key = (secret, purpose)
    ser = _serializers.get(key)
    if ser is None:
        # hashlib.sha1 is itsdangerous's default digest too; passed directly (not through its lazy
        # wrapper) hmac uses OpenSSL's HMAC instead of the pure-Python one. Same signatures.
        ser = _serializers[key] = URLSafeTimedSerializer(secret, salt=f"statuspage.subscriber.{purpose}",
                                                         signer=_CachedKeySigner,
                                                         signer_kwargs={"digest_method": hashlib.sha1})
    return ser


_signing_keys: dict[tuple[str | bytes, str], bytes] = {}


_stamp: tuple[int, bytes] = (-1, b"")


def _timestamp() -> bytes:
    """itsdangerous's timestamp part (base64 of the big-endian seconds), made once a second."""
    global _stamp
    now = int(time.time())
    if _stamp[0] != now:
        _stamp = (now, base64_encode(int_to_bytes(now)))
    return _stamp[1]


def make_token(subscriber_id: int, token_version: int, purpose: str) -> str:
    """A signed token for one subscriber and purpose (confirm | manage | unsubscribe).

    Byte for byte what ``URLSafeTimedSerializer.dumps([id, version])`` gives with the serializer
    ``load_token`` reads it with (a test holds the two equal), written out: a fan-out signs two tokens per
    recipient, and itsdangerous builds a signer, a JSON encoder and tries zlib for each — most of the
    cost of a recipient's message. The signing key is derived once per secret and purpose.
    """
    ser = _serializer(purpose)
    cache_key = (ser.secret_keys[-1], purpose)
    key = _signing_keys.get(cache_key)
    if key is None:
        key = _signing_keys[cache_key] = ser.make_signer().derive_key()
    value = base64_encode(f"[{int(subscriber_id)},{int(token_version)}]".encode("ascii")) + b"." + _timestamp()
    return (value + b"." + base64_encode(hmac.digest(key, value, "sha1"))).decode("ascii")


def link(purpose: str, token: str, base_url: str | None = None) -> str:
    """The absolute URL of a subscriber link."""
    return f"{base_url or public_base_url()}{LINK_PATHS[purpose]}{token}"


def subscriber_link(subscriber: Subscriber, purpose: str) -> str:
    return link(purpose, make_token(subscriber.id, subscriber.token_version, purpose))


def load_token(token: str, purpose: str) -> Subscriber:
    """The subscriber a token names, or TokenError (bad signature, expired, revoked, unknown)."""
    try:
        sub_id, version = _serializer(purpose).loads(token, max_age=TOKEN_MAX_AGE[purpose])
    except SignatureExpired:
        raise TokenError("This link has expired.", expired=True) from None
    except (BadSignature, ValueError, TypeError):
        raise TokenError("This link is not valid.") from None
    if not isinstance(sub_id, int) or not isinstance(version, int):
        raise TokenError("This link is not valid.")
    subscriber = db.session.get(Subscriber, sub_id)
    if subscriber is None or subscriber.token_version != version:
        raise TokenError("This link is no longer valid.")
    return subscriber
