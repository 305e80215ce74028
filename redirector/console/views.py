"""The console blueprint: what every page shares, and signing in and out.

Every console response carries a strict Content-Security-Policy (scripts and
styles from this origin only, no inline script), ``X-Frame-Options: DENY`` and
``nosniff``, and ``Strict-Transport-Security`` when the service is served over
https (``REDIRECTOR_PUBLIC_URL``); pages are not cached. Every POST checks the
CSRF token (flask-wtf), and only here: the JSON API and the storefront
callbacks are not forms and stay exempt. Domain errors render as a page, not as
the API's JSON. Failed sign-ins count against the client's limit of failed
authentications (``api.ratelimit``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError, CSRFProtect
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from ..api import ratelimit
from ..api.links import with_token
from ..config import Settings
from ..errors import RedirectorError, StoreUnavailable
from ..extension import context
from . import auth, formatting, i18n

bp = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)
csrf = CSRFProtect()


def csp(image_hosts: tuple[str, ...] = ()) -> str:
    """The console's policy; ``image_hosts`` are https hosts a page shows images
    from (product images: DNS names, checked when the product was saved)."""
    images = " ".join(["'self'", "data:", *(f"https://{h}" for h in image_hosts)])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def image_hosts(products: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The hosts of the products' images, for ``csp``."""
    hosts = {urlsplit(p.get("image_url") or "").hostname or "" for p in products}
    return tuple(sorted(hosts - {""}))


CSP = csp()
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Two years, the preload lists' minimum; only ever sent when served over https.
HSTS = "max-age=63072000; includeSubDomains"


def served_over_https(settings: Settings) -> bool:
    return (settings.public_url or "").startswith("https:")


def safe_next(target: str | None, default: str) -> str:
    """A path on this site to go back to, or ``default``: never another host."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target


def page(template: str, status: int = 200, **context: Any) -> Response:
    return make_response(render_template(template, **context), status)


def link_with_url(link: dict[str, Any]) -> dict[str, Any]:
    """A link as the API renders it: with its signed token and public URL."""
    return with_token(link)


# -- hooks ------------------------------------------------------------------------------


@bp.before_request
def _before() -> None:
    g.lang = i18n.pick_language(request)
    g.viewer = auth.current_viewer()
    if request.method == "POST":
        csrf.protect()


@bp.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if served_over_https(context().settings):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "console.static":
        # Pages are never cached; a view that says otherwise (a QR code) is kept.
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
        response.vary.add("Accept-Language")
    return response


@bp.context_processor
def _context() -> dict[str, Any]:
    svc = context()
    lang = g.get("lang", i18n.DEFAULT)
    currency = svc.settings.currency
    tz = svc.settings.timezone

    def translate(key: str, **values: Any) -> str:
        return i18n.translate(key, lang, **values)

    return {
        "_": translate,
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "viewer": g.get("viewer"),
        "money": lambda minor: formatting.money(minor, currency),
        "count": formatting.count,
        "percent": formatting.percent_bps,
        "when": lambda ms: formatting.local_time(ms, tz),
        "timezone": tz.key,
        "currency": currency,
    }


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError) -> Response:
    return page("error.html", 400, code=400, message_key="error.csrf", detail=error.description)


@bp.errorhandler(RateLimitExceeded)
def _too_many(error: RateLimitExceeded) -> Response:
    """Refused before the console's own hooks ran: the language is picked here."""
    g.lang = i18n.pick_language(request)
    seconds = ratelimit.retry_after()
    detail = i18n.translate("error.retry_after", g.lang, seconds=seconds)
    response = page("error.html", 429, code=429, message_key="error.429", detail=detail)
    return ratelimit.with_retry_after(response, seconds)


@bp.errorhandler(RedirectorError)
def _domain_error(error: RedirectorError) -> Response:
    if isinstance(error, StoreUnavailable):
        return _store_down(error)
    key = f"error.{error.status}" if error.status in (403, 404, 503) else None
    return page("error.html", error.status, code=error.status, message_key=key, detail=str(error))


@bp.errorhandler(ValidationError)
def _invalid(error: ValidationError) -> Response:
    """A malformed id in a console URL names nothing: 404, as the API answers."""
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
    return page("error.html", 404, code=404, message_key="error.404", detail=fields)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    key = f"error.{code}" if code in (403, 404, 405) else None
    return page("error.html", code, code=code, message_key=key, detail=error.description)


def _store_down(error: Exception) -> Response:
    response = page("error.html", 503, code=503, message_key="error.503", detail="")
    response.headers["Retry-After"] = "5"
    return response


# -- signing in and out, language ------------------------------------------------------


@bp.get("/")
def root() -> Any:
    return redirect(url_for("console.home"))


@bp.get("/console/")
def home() -> Any:
    viewer = g.viewer
    if viewer is None:
        return redirect(url_for("console.sign_in"))
    if viewer.is_admin:
        return redirect(url_for("console.dashboard"))
    return redirect(url_for("console.my_links"))


@bp.route("/console/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    target = request.values.get("next")
    if request.method == "POST":
        viewer = auth.sign_in(request.form.get("credential", ""))
        if viewer is None:
            flash(i18n.translate("signin.failed", g.lang), "error")
            return page("sign_in.html", 401, next=safe_next(target, ""))
        default = url_for("console.dashboard" if viewer.is_admin else "console.my_links")
        return redirect(safe_next(target, default))
    return page("sign_in.html", next=safe_next(target, ""))


@bp.post("/console/sign-out")
def sign_out() -> Any:
    auth.sign_out()
    flash(i18n.translate("signout.done", g.lang), "info")
    return redirect(url_for("console.sign_in"))


@bp.get("/console/lang/<code>")
def set_language(code: str) -> Any:
    """Switch the language (a cookie, a year) and go back where the link was."""
    response = redirect(safe_next(request.args.get("next"), url_for("console.home")))
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=served_over_https(context().settings),  # as the session cookie
        )
    return response
