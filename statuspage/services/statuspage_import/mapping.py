"""The import's bookkeeping: which source object became which local one, and what each run changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ...extensions import db
from ...models import ImportMapping

SOURCE = "statuspage"
LABELS = {"group": "component groups", "component": "components", "template": "incident templates",
          "incident": "incidents and maintenance", "update": "incident updates", "subscriber": "subscribers",
          "component status": "component statuses", "history": "component histories (uptime)"}
KINDS = tuple(LABELS)


def digest(obj: Any) -> str:
    """A stable hash of a source record (what we import of it), to tell changed records from the rest."""
    text = json.dumps(obj, sort_keys=True, default=_plain, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Shallow: json.dumps calls back here for nested records (asdict's deep copies cost more).
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


class Mappings:
    """The mapping rows of one source page, cached per kind."""

    def __init__(self, source_page_id: str):
        self.page_id = source_page_id
        self._rows: dict[str, dict[str, ImportMapping]] = defaultdict(dict)
        self._loaded: set[str] = set()
        self._uncached: set[str] = set()

    def _query(self, kind: str):
        return select(ImportMapping).where(ImportMapping.source == SOURCE,
                                           ImportMapping.source_page_id == self.page_id, ImportMapping.kind == kind)

    def all(self, kind: str) -> dict[str, ImportMapping]:
        """Every mapping of ``kind`` (loaded once)."""
        if kind not in self._loaded:
            for row in db.session.scalars(self._query(kind)):
                self._rows[kind][row.source_id] = row
            self._loaded.add(kind)
        return self._rows[kind]

    def some(self, kind: str, source_ids: Iterable[str]) -> dict[str, ImportMapping]:
        """The mappings of these source ids (for kinds too many to load at once: subscribers).

        Rows of such kinds are not kept by this object: held across a whole run, tens of thousands of
        them would make every commit expire them all.
        """
        self._uncached.add(kind)
        ids = list(dict.fromkeys(source_ids))
        found = {}
        for start in range(0, len(ids), 500):
            for row in db.session.scalars(self._query(kind).where(ImportMapping.source_id.in_(ids[start:start + 500]))):
                found[row.source_id] = row
        return found

    def get(self, kind: str, source_id: str) -> ImportMapping | None:
        return self.all(kind).get(source_id)

    def put(self, kind: str, source_id: str, local_id: str, digest_: str, now: dt.datetime,
            row: ImportMapping | None = None) -> ImportMapping:
        if row is None:
            row = self._rows[kind].get(source_id)
        if row is None:
            row = ImportMapping(source=SOURCE, source_page_id=self.page_id, kind=kind, source_id=source_id,
                                local_id=local_id, digest=digest_, created_at=now, updated_at=now)
            db.session.add(row)
        else:
            row.local_id, row.digest, row.updated_at = local_id, digest_, now
        if kind not in self._uncached:
            self._rows[kind][source_id] = row
        return row

    def forget(self) -> None:
        """Drop the cache (after a rollback the cached rows may not exist)."""
        self._rows.clear()
        self._loaded.clear()


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, what: str, label: str) -> None:
        setattr(self, what, getattr(self, what) + 1)
        if what != "unchanged" and len(self.examples) < 10:
            self.examples.append(f"{what} {label}")

    @property
    def changed(self) -> int:
        return self.created + self.updated


@dataclass
class ImportReport:
    """What a run did (or, with --dry-run, would do), per kind of object."""

    dry_run: bool = False
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS})
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0

    def __getitem__(self, kind: str) -> Tally:
        return self.tallies[kind]

    @property
    def changed(self) -> bool:
        return any(t.changed for t in self.tallies.values())

    def summary(self) -> str:
        verb = {"created": "would create", "updated": "would update"} if self.dry_run else {
            "created": "created", "updated": "updated"}
        lines = []
        for kind, tally in self.tallies.items():
            if not (tally.changed or tally.unchanged or tally.skipped):
                continue
            parts = [f"{tally.created} {verb['created']}", f"{tally.updated} {verb['updated']}",
                     f"{tally.unchanged} unchanged"] + ([f"{tally.skipped} skipped"] if tally.skipped else [])
            lines.append(f"{LABELS[kind]}: {', '.join(parts)}")
            if self.dry_run:
                lines += [f"    {example}" for example in tally.examples]
        for problem in self.problems[:50]:
            lines.append(f"problem: {problem}")
        if len(self.problems) > 50:
            lines.append(f"… and {len(self.problems) - 50} more problems")
        lines.append(f"{self.requests} requests to the source ({self.retries} retried).")
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        elif not self.changed:
            lines.append("Nothing changed: the page was already up to date.")
        return "\n".join(lines)
