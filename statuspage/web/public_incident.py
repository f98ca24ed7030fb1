"""The public page of one incident or maintenance: public updates newest first, components, postmortem."""

from __future__ import annotations

from flask import abort, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Incident
from ..services.postmortems import public_sections
from ..services.site import get_page
from .public import bp


@bp.get("/incidents/<public_id>")
def incident(public_id: str):
    inc = db.session.scalar(select(Incident).where(Incident.public_id == public_id,
                                                   Incident.published_at.is_not(None)))
    if inc is None:
        abort(404)
    updates = sorted((u for u in inc.updates if not u.internal), key=lambda u: u.display_at, reverse=True)
    components = sorted((ic for ic in inc.components if ic.component.public),
                        key=lambda ic: ic.component.position)
    changes = {u.id: [c for c in u.component_changes if c.component.public] for u in updates}
    return render_template("public/incident.html", page=get_page(), incident=inc, updates=updates,
                           components=components, changes=changes,
                           postmortem_sections=public_sections(inc.postmortem))
