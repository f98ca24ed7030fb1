"""The embedded default: each message becomes an ``.eml`` file in the mail folder (no SMTP needed)."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from ..files import create_private
from . import DeliveryError

_UNSAFE = re.compile(r"[^A-Za-z0-9@._-]+")


class FileDropTransport:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create mail folder {self.directory}: {exc.strerror}",
                                permanent=False, connection_lost=True) from None

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        name = f"{time.time_ns()}-{_UNSAFE.sub('_', recipient)[:80]}-{secrets.token_hex(3)}.eml"
        tmp = self.directory / f".{name}.tmp"
        try:
            # Write then rename: a reader never sees half a message.
            create_private(tmp)  # signed unsubscribe/manage links inside: owner only
            with open(tmp, "wb") as fh:
                fh.write(b"X-Envelope-From: " + sender.encode() + b"\r\nX-Envelope-To: "
                         + recipient.encode() + b"\r\n" + message)
            os.replace(tmp, self.directory / name)
        except OSError as exc:
            raise DeliveryError(f"cannot write {name}: {exc.strerror}", permanent=False) from None

    def close(self) -> None:
        pass
