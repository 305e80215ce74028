"""The web console, served by the same app as the API.

- admin: a dashboard, statements (split, rebate, CSV, closing), payouts per
  period (marked paid or failed, the bank batch), orders with their history,
  creators and links;
- creator: its links with their stats, a form to make one, its earnings,
  (independent creators) its payouts and balance, and the product library
  (search, and a link from a product in one click);
- public: a creator's showcase ``/s/<creator_id>`` and the sales leaderboard;
- landing: the page a click from WeChat or QQ answers (``landing``), which only
  the redirect hands requests to.

Pages are rendered on the server from the same domain functions the API's
views call (``links``, ``settlement``, ``orders``, ``registry``,
``leaderboard``), so they show what the API says. Charts are drawn by Chart.js,
shipped in ``static/`` (no CDN: the console works offline).
"""

from __future__ import annotations

from flask import Flask

from ..extension import context_of
from . import (  # noqa: F401  (routes on views.bp)
    admin,
    creator,
    landing,
    library,
    order_pages,
    payouts,
    postback_pages,
    public,
    review,
    views,
    words,
)
from .auth import session_secret

__all__ = ["SESSION_COOKIE", "init_app"]

SESSION_COOKIE = "rd_console"


def init_app(app: Flask) -> None:
    svc = context_of(app)
    if not app.config.get("SECRET_KEY"):
        # The newest signing key signs sessions; the older ones still verify them.
        app.config["SECRET_KEY"] = session_secret(svc.settings.secret_keys[0])
        app.config["SECRET_KEY_FALLBACKS"] = [
            session_secret(k) for k in svc.settings.secret_keys[1:]
        ]
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Served over https (REDIRECTOR_PUBLIC_URL says so): the cookie never travels in clear.
        SESSION_COOKIE_SECURE=views.served_over_https(svc.settings),
    )
    # CSRF is checked by the console blueprint's own hook, on its forms only.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    views.csrf.init_app(app)
    app.register_blueprint(views.bp)
