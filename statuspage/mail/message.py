"""Email assembly: render a notification once, personalise it per recipient in microseconds.

Building an ``EmailMessage`` per recipient costs ~2.5 ms (PITFALLS), more than sending it. So the shared
headers are built once with ``email.message.EmailMessage`` under ``policy.SMTP`` (which folds, encodes
and refuses CR/LF in values), the text and HTML bodies are rendered once with placeholders, and
``personalise`` only substitutes the recipient's address and links, quoted-printable-encodes the two
parts (C code in binascii) and joins bytes.
"""

from __future__ import annotations

import binascii
import email.policy
import re
import secrets
from dataclasses import dataclass
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

    def personalise(self, *, to: str, unsubscribe_url: str = "", unsubscribe_mailto: str = "",
                    manage_url: str = "", date: str | None = None) -> bytes:
        """The complete message for one recipient, as bytes for ``sendmail``."""
        if not is_safe_address(to):
            raise ValueError(f"refusing to put {to!r} into a To header")
        text = (self.text.replace(PH_EMAIL, to).replace(PH_UNSUBSCRIBE, unsubscribe_url)
                .replace(PH_MANAGE, manage_url))
        html_email = str(escape(to))
        html = (self.html.replace(PH_EMAIL, html_email).replace(PH_UNSUBSCRIBE, str(escape(unsubscribe_url)))
                .replace(PH_MANAGE, str(escape(manage_url))))
        lines = [f"To: {to}", f"Date: {date or formatdate(usegmt=True)}", f"Message-ID: {self.message_id}"]
        if self.has_list_headers and unsubscribe_url:
            links = f"<{unsubscribe_url}>" + (f",\r\n <{unsubscribe_mailto}>" if unsubscribe_mailto else "")
            lines.append(f"List-Unsubscribe: {links}")
        b = self.boundary
        return b"".join((
            self.head,
            ("\r\n".join(lines) + "\r\n\r\n").encode("ascii"),
            f"--{b}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii"),
            _qp(text),
            f"\r\n--{b}\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii"),
            _qp(html),
            f"\r\n--{b}--\r\n".encode("ascii"),
        ))


def _qp(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False).replace(b"\n", b"\r\n")


def build_template(*, sender: str, sender_name: str, subject: str, text: str, html: str, message_id: str,
                   in_reply_to: str | None = None, list_id: str | None = None,
                   list_unsubscribe_post: bool = True) -> MessageTemplate:
    """Shared headers through EmailMessage (policy SMTP): a title cannot inject a header."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = Address(display_name=clean_header_text(sender_name, 100), addr_spec=sender)
    msg["Subject"] = clean_header_text(subject, 250)
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
