"""The README and docs/ link only to files a clone has (they once pointed at notes outside the repository)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)#\s]+)")


def test_every_relative_link_in_the_readme_and_docs_resolves():
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in LINK.findall(doc.read_text()):
            if not (doc.parent / target).exists():
                missing.append(f"{doc.relative_to(ROOT)} → {target}")
    assert missing == []


OUTSIDE = re.compile(r"(?<![./])\.\./(?!\.\./)[A-Za-z]")  # a path that climbs out of the clone ("../somewhere")


def test_nothing_points_outside_the_repository():
    for path in [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("statuspage/**/*.py")]:
        assert not OUTSIDE.search(path.read_text()), path
