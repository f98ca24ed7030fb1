"""checks/ stands alone: no Flask, no database, no statuspage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_engine_loads_no_web_or_database_code():
    code = (
        "import sys, checks.runner, checks.state, checks.spec, checks.probes, checks.conditions;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'statuspage')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
