"""The console (/admin): one blueprint, its views by area.

``blueprint`` holds the blueprint and the form helpers; each other module registers its views on it:
dashboard and checks, incidents, postmortems, maintenance (with templates and reports), probe locations, people
(users, tokens, audit log). Views parse the form, check the role, call one service function and
render or redirect.
"""

from . import dashboard, incidents, locations, maintenance, people, postmortems  # noqa: F401  (register the views)
from .blueprint import bp

__all__ = ["bp"]
