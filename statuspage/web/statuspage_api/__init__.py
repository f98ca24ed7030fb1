"""The Statuspage-compatible management API at ``/api/statuspage/v1`` (see core.py for the contract).

One module per resource; importing them registers their routes on the blueprint.
"""

from . import components, incidents, pages, postmortems, subscribers, templates  # noqa: F401  (routes)
from .core import PREFIX, bp

__all__ = ["PREFIX", "bp"]
