"""Email assembly: render a notification once, personalise it per recipient in microseconds.

Building an ``EmailMessage`` per recipient costs ~2.5 ms (docs/pitfalls.md), more than sending it. So the shared
headers are built once with ``email.message.EmailMessage`` under ``policy.SMTP`` (which folds, encodes
and refuses CR/LF in values), the text and HTML bodies are rendered once with placeholders, and
``personalise`` only substitutes the recipient's address and links into the few lines that hold a
placeholder, quoted-printable-encodes those lines (the rest was encoded once) and joins bytes.
"""

from __future__ import annotations

import binascii
import email.policy
import re
import secrets
import time
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from markupsafe import escape

# Placeholders put into the rendered bodies; chosen to survive Jinja autoescaping untouched.
PH_EMAIL = "@@SP-EMAIL@@"
PH_UNSUBSCRIBE = "@@SP-UNSUBSCRIBE@@"
PH_MANAGE = "@@SP-MANAGE@@"

# An address we are willing to put into a header verbatim: ASCII, no spaces, no CR/LF, one @.
_SAFE_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def clean_header_text(value: str, limit: int = 250) -> str:
    """One line of text for a header: control characters (CR/LF included) become spaces."""
    value = re.sub(r"[\x00-\x1f\x7f]+", " ", value or "")
    return re.sub(r"\s+", " ", value).strip()[:limit]


def is_safe_address(address: str) -> bool:
    return len(address) <= 254 and bool(_SAFE_ADDRESS.match(address))


@dataclass(frozen=True)
class MessageTemplate:
    """One notification, ready to personalise: shared header bytes and bodies with placeholders."""

    sender: str  # envelope sender
    head: bytes  # shared header lines, each ending in CRLF
    text: str
    html: str
    boundary: str
    message_id: str  # the same for every recipient of this notification (like a list post)
    has_list_headers: bool = True
    # The bodies quoted-printable-encoded once, line by line; only lines holding a placeholder are
    # left as text, to be substituted and encoded per recipient (see ``_encode_once``).
    _text_parts: tuple = field(init=False, repr=False, compare=False)
    _html_parts: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_text_parts", _encode_once(self.text))
        object.__setattr__(self, "_html_parts", _encode_once(self.html))

    def personalise(self, *, to: str, unsubscribe_url: str = "", unsubscribe_mailto: str = "",
                    manage_url: str = "", date: str | None = None) -> bytes:
        """The complete message for one recipient, as bytes for ``sendmail``."""
        if not is_safe_address(to):
            raise ValueError(f"refusing to put {to!r} into a To header")

        def text_line(line: str) -> str:
            return line.replace(PH_EMAIL, to).replace(PH_UNSUBSCRIBE, unsubscribe_url).replace(PH_MANAGE, manage_url)

        html_email, html_unsub, html_manage = str(escape(to)), str(escape(unsubscribe_url)), str(escape(manage_url))

        def html_line(line: str) -> str:
            return line.replace(PH_EMAIL, html_email).replace(PH_UNSUBSCRIBE, html_unsub).replace(PH_MANAGE, html_manage)

        lines = [f"To: {to}", f"Date: {date or _now_header()}", f"Message-ID: {self.message_id}"]
        if self.has_list_headers and unsubscribe_url:
            links = f"<{unsubscribe_url}>" + (f",\r\n <{unsubscribe_mailto}>" if unsubscribe_mailto else "")
            lines.append(f"List-Unsubscribe: {links}")
        b = self.boundary
        return b"".join((
            self.head,
            ("\r\n".join(lines) + "\r\n\r\n").encode("ascii"),
            f"--{b}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii"),
            _fill(self._text_parts, text_line),
            f"\r\n--{b}\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii"),
            _fill(self._html_parts, html_line),
            f"\r\n--{b}--\r\n".encode("ascii"),
        ))


_PLACEHOLDER_MARK = "@@SP-"


def _qp_line(line: str) -> bytes:
    """One line (no line break in it) quoted-printable: soft breaks keep every output line ≤ 76."""
    # binascii ends its soft breaks with a bare LF; mail lines end in CRLF.
    return binascii.b2a_qp(line.encode("utf-8"), quotetabs=False, istext=True, header=False).replace(b"\n", b"\r\n")


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends, encoded line by line.

    Line by line because quoted-printable is line-local (soft breaks and trailing-space rules never
    cross a line end) and because binascii, given a whole text, lets a line reach 78 characters when it
    ends in encoded white space; per line it keeps to RFC 2045's 76.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return b"\r\n".join(_qp_line(line) for line in text.split("\n"))


def _encode_once(body: str) -> tuple:
    """The body split into runs: bytes (encoded already) and str (a line with a placeholder).

    A fan-out personalises one body per recipient; encoding only the few lines that differ keeps the
    per-recipient cost to those lines.
    """
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    parts: list = []
    run: list[bytes] = []
    for line in body.split("\n"):
        if _PLACEHOLDER_MARK in line:
            if run:
                parts.append(b"\r\n".join(run))
                run = []
            parts.append(line)
        else:
            run.append(_qp_line(line))
    if run:
        parts.append(b"\r\n".join(run))
    return tuple(parts)


def _fill(parts: tuple, substitute) -> bytes:
    return b"\r\n".join([part if part.__class__ is bytes else _qp(substitute(part)) for part in parts])


_date_cache: tuple[int, str] = (0, "")


def _now_header() -> str:
    """RFC 5322 Date of the current second (formatted once a second, not once per message)."""
    global _date_cache
    second = int(time.time())
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second, usegmt=True))
    return _date_cache[1]


def build_template(*, sender: str, sender_name: str, subject: str, text: str, html: str, message_id: str,
                   in_reply_to: str | None = None, list_id: str | None = None,
                   list_unsubscribe_post: bool = True, reply_to: list[str] | None = None,
                   thread_topic: str | None = None) -> MessageTemplate:
    """Shared headers through EmailMessage (policy SMTP): a title cannot inject a header.

    ``reply_to``: addresses a reply should reach (unsafe ones are dropped); ``thread_topic``: the
    subject without its status, which Outlook groups a conversation by while the subject changes.
    """
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = Address(display_name=clean_header_text(sender_name, 100), addr_spec=sender)
    safe_reply = [a for a in (reply_to or []) if is_safe_address(a)]
    if safe_reply:
        msg["Reply-To"] = ", ".join(safe_reply)
    msg["Subject"] = clean_header_text(subject, 250)
    if thread_topic:
        msg["Thread-Topic"] = clean_header_text(thread_topic, 250)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    if list_id:
        msg["List-Id"] = list_id
    if list_unsubscribe_post:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["MIME-Version"] = "1.0"
    boundary = "=_sp_" + secrets.token_hex(12)
    msg["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    head = msg.as_bytes(policy=email.policy.SMTP)
    head = head[: head.index(b"\r\n\r\n") + 2]  # header block only, keep the last CRLF
    return MessageTemplate(sender=sender, head=head, text=text, html=html, boundary=boundary,
                           message_id=message_id, has_list_headers=list_unsubscribe_post)
