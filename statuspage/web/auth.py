"""Sessions for people: login, logout, password change; the user loader."""

from __future__ import annotations

from ..extensions import db, login_manager
from ..models import User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # The session carries "id:session_version": a password change ends every other session.
    try:
        uid, version = (int(p) for p in user_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user
