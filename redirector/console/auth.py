"""Who is looking at the console: the admin, a creator, or nobody.

Sign-in takes the same credentials as the API (the admin token, or a creator's
API key) and checks them the same way. The signed session cookie keeps who
signed in, never the credential itself: it holds a fingerprint of the
credential (an HMAC under a key derived from the service's secret keys), and
every request checks that fingerprint against the credential in force, so
rotating a creator's API key, or changing the admin token, signs the old
sessions out. A session is also refused after ``MAX_SESSION_AGE`` seconds.

The cookie also carries the id of a session kept on the server (``sessions``):
signing out ends it there, so a copy of the cookie taken before is worth
nothing after; rotating a creator's key ends all of that creator's.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import abort, current_app, g, redirect, request, session, url_for

from .. import registry, sessions
from ..extension import context

ADMIN = "admin"
CREATOR = "creator"
SESSION_SALT = b"redirector.console.session"
FINGERPRINT_SALT = b"redirector.console.credential"
MAX_SESSION_AGE = sessions.MAX_AGE_SECONDS


@dataclass(frozen=True)
class Viewer:
    role: str
    creator_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def session_secret(secret_key: str) -> str:
    """The Flask ``SECRET_KEY`` derived from one of the service's signing keys
    (a purpose of its own: a session signature never passes for a link token)."""
    return hmac.new(secret_key.encode(), SESSION_SALT, hashlib.sha256).hexdigest()


def _fingerprint(material: str, secret: str | None = None) -> str:
    secret = secret or current_app.config["SECRET_KEY"]
    key = hmac.new(str(secret).encode(), FINGERPRINT_SALT, hashlib.sha256).digest()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


def _fingerprint_matches(material: str, fingerprint: str) -> bool:
    """Under the session key or one of its fallbacks (a rotation keeps sessions)."""
    secrets = [
        current_app.config["SECRET_KEY"],
        *current_app.config.get("SECRET_KEY_FALLBACKS", []),
    ]
    return any(hmac.compare_digest(_fingerprint(material, s), fingerprint) for s in secrets)


def _admin_material(token: str) -> str:
    return "admin:" + token


def _creator_material(key_hash: str) -> str:
    return "creator:" + key_hash


def sign_in(credential: str) -> Viewer | None:
    """Check a credential as the API does; on success start a fresh session."""
    svc = context()
    credential = credential.strip()
    if not credential:
        return None
    if hmac.compare_digest(credential.encode(), svc.settings.admin_token.encode()):
        viewer = Viewer(ADMIN)
        material = _admin_material(credential)
    else:
        creator_id = registry.creator_for_api_key(svc.store, credential)
        if creator_id is None:
            return None
        viewer = Viewer(CREATOR, creator_id)
        material = _creator_material(registry.hash_api_key(credential))
    sign_out()  # a sign-in over a live session ends that one first
    session["role"] = viewer.role
    session["creator_id"] = viewer.creator_id
    session["fingerprint"] = _fingerprint(material)
    session["since"] = int(time.time())
    session["sid"] = sessions.start_session(svc, _holder(viewer), int(time.time() * 1000))
    return viewer


def _holder(viewer: Viewer) -> str:
    if viewer.is_admin:
        return sessions.ADMIN_HOLDER
    return sessions.creator_holder(str(viewer.creator_id))


def sign_out() -> None:
    """End the session on the server too: a copy of the cookie stops working."""
    viewer = current_viewer()
    if viewer is not None:
        sessions.end_session(context(), session["sid"], _holder(viewer))
    session.clear()


def current_viewer() -> Viewer | None:
    """The signed-in viewer, if the session is valid and its credential still is."""
    role = session.get("role")
    fingerprint = session.get("fingerprint")
    since = session.get("since")
    if role is None or not isinstance(fingerprint, str) or not isinstance(since, int):
        return None
    if time.time() - since > MAX_SESSION_AGE:
        return None
    if role == ADMIN:
        material = _admin_material(context().settings.admin_token)
        viewer = Viewer(ADMIN)
    elif role == CREATOR and isinstance(session.get("creator_id"), str):
        key_hash = registry.api_key_hash(context().store, session["creator_id"])
        if key_hash is None:
            return None
        material = _creator_material(key_hash)
        viewer = Viewer(CREATOR, session["creator_id"])
    else:
        return None
    if not _fingerprint_matches(material, fingerprint):
        return None
    sid = session.get("sid")
    if not isinstance(sid, str) or not sessions.is_live(context(), sid, _holder(viewer)):
        return None  # ended on the server: signed out, or the creator's key rotated
    return viewer


def requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view for ``role`` only: to sign-in when nobody is signed in, 403 for the other role."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            viewer: Viewer | None = g.get("viewer")
            if viewer is None:
                return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
            if viewer.role != role:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
