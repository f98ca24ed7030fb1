"""Bring a whole Atlassian Statuspage page over through its management API (``statuspage import statuspage``).

client (HTTP, rate limit, retries) → payloads (lenient parsing) → structure, incidents, history,
subscribers (writes, through our services, without notifying anyone) → run (order, commits, dry run).
Re-running updates what changed and duplicates nothing: every imported object has an ImportMapping row.
"""

from .client import DEFAULT_API_URL, StatuspageApiError, StatuspageClient
from .mapping import ImportReport
from .run import run_import

__all__ = ["DEFAULT_API_URL", "ImportReport", "StatuspageApiError", "StatuspageClient", "run_import"]
