"""The landing page: what a click answers, instead of a 302, from an in-app
browser that will not open the shop (``landing``'s rules).

Only the redirect reaches it: it records the click under the rules of a 302,
then hands the request here with a ``landing.LandingVisit`` in the environ
(``redirect.Redirector._landing``); a request without one is 404, so the page
never records or shows anything on its own. It reads the product's current
title, price, image and share code from the registry, and shows them with how
to open the page in the phone's browser (the app's menu, worded per app and
platform) and links straight to the destination, carrying the click id.

Served as a console page: zh/en (``i18n``), ``Cache-Control: no-store``, the
console's strict Content-Security-Policy (the copy button's script is
``static/console.js``), whose ``img-src`` also names the product image's
origin. With the store away (a click answered from the outage copy), the page
still shows the instructions and the links, without the product.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import abort, request

from .. import registry
from ..errors import NotFound, StoreUnavailable
from ..extension import context
from ..landing import ENVIRON_KEY, LandingVisit
from .views import CSP, bp, page

__all__ = ["image_origin", "landing_csp", "open_in_browser"]

# An image's origin goes into a header: only plain https origins are named.
_ORIGIN = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")


def open_in_browser(app: str | None, platform: str) -> str:
    """The message key of the menu item that opens the page in the phone's
    browser: WeChat's own wording where it is known, else the platform's."""
    system = "ios" if platform == "ios" else "android"
    if app == "wechat":
        return f"landing.open_wechat_{system}"
    return f"landing.open_{system}"


def image_origin(image_url: str | None) -> str | None:
    """``https://host[:port]`` of a product image, or None (none, or odd)."""
    if not image_url:
        return None
    try:
        parts = urlsplit(image_url)
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _ORIGIN.match(origin) else None


def landing_csp(origin: str | None) -> str:
    """The console's policy, its images allowed from ``origin`` too."""
    if origin is None:
        return CSP
    return CSP.replace("img-src 'self' data:", f"img-src 'self' data: {origin}")


@bp.get("/r/<path:token>", endpoint="landing")
def landing_page(token: str) -> Any:
    visit = request.environ.get(ENVIRON_KEY)
    if not isinstance(visit, LandingVisit):
        abort(404)
    product = _product(visit.product_id)
    image = product.get("image_url") if product else None
    origin = image_origin(image)
    response = page(
        "landing.html",
        visit=visit,
        product=product,
        image_url=image if origin else None,
        app_key=f"app.{visit.app}" if visit.app else None,
        open_key=open_in_browser(visit.app, visit.platform),
        has_app=visit.open_url != visit.web_url,
    )
    response.headers["Content-Security-Policy"] = landing_csp(origin)
    if visit.set_cookie:
        response.headers.add("Set-Cookie", visit.set_cookie)
    return response


def _product(product_id: str) -> dict[str, Any] | None:
    """The product as the registry has it now; None when it cannot say."""
    if not product_id:
        return None
    try:
        return registry.product(context(), product_id)
    except (NotFound, StoreUnavailable):
        return None
