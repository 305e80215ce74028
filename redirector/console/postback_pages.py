"""Webhook endpoint pages (postbacks): the admin's (``/console/admin/webhooks``)
and a creator's own (``/console/me/webhooks``).

Each calls what the API's views call (``postbacks.register``,
``list_endpoints``, ``rotate_secret``, ``delete``, ``log``, ``retry_by_hand``)
with the viewer's scope: a creator's id (its own endpoints; another's is 404)
or None (the admin: all). Every form carries its CSRF token.

A new secret (after registering or rotating) is shown in the answer to that
POST and nowhere else: it is rendered into the page, never put in the session
or a flash message, and the page is not cached (``no-store``, as every page).
A refused registration (bad URL, an event a creator may not have, the limit)
shows the page again with the reason and what was typed, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, g, redirect, request, url_for

from .. import postbacks, registry
from ..api.postback_schemas import DeliveryPath, WebhookPath
from ..errors import Conflict, Forbidden, InvalidField, NotFound
from ..extension import context
from . import i18n
from .auth import ADMIN, CREATOR, requires
from .views import bp, page

LOG_PAGE = 50
GRACE_HOURS = (0, 1, 24, 72, 168)  # the rotation form's choices; 24 h as the API's default
DEFAULT_GRACE_HOURS = 24
PREFIXES = {ADMIN: ("admin", "/console/admin/webhooks"), CREATOR: ("my", "/console/me/webhooks")}
REFUSED = (InvalidField, Conflict, Forbidden)


def _t(key: str, **values: Any) -> str:
    return i18n.translate(key, g.lang, **values)


def _viewer() -> str | None:
    viewer = g.viewer
    return None if viewer.is_admin else str(viewer.creator_id)


def _ep(name: str) -> str:
    """The endpoint name of ``name`` for the viewer's role (``admin_…``/``my_…``)."""
    return f"console.{PREFIXES[g.viewer.role][0]}_{name}"


def _agencies() -> dict[str, str]:
    """The agencies an admin may scope an endpoint to: those with creators."""
    store = context().store
    ids = sorted({c["agency_id"] for c in registry.list_creators(store) if c["agency_id"]})
    return {a: registry.get_agency(store, a)["name"] for a in ids}


def _list(status: int = 200, **extra: Any) -> Any:
    svc = context()
    viewer = _viewer()
    found = postbacks.list_endpoints(svc.store, viewer)
    return page(
        "webhooks.html",
        status,
        endpoints=[e.to_json(svc.clock.now_ms()) for e in found],
        event_types=[e for e in postbacks.EVENT_TYPES if viewer is None or e != "statement.closed"],
        agencies=_agencies() if viewer is None else {},
        ep=PREFIXES[g.viewer.role][0],
        form=extra.pop("form", {"events": []}),
        **extra,
    )


def webhooks() -> Any:
    return _list()


def register() -> Any:
    viewer = _viewer()
    svc = context()
    url = request.form.get("url", "").strip()
    events = request.form.getlist("events")
    agency_id = (request.form.get("agency_id") or "").strip() if viewer is None else ""
    form = {"url": url, "events": events, "agency_id": agency_id}
    new = postbacks.NewEndpoint(url, events, agency_id or None)
    try:
        endpoint, secret = postbacks.register(svc, viewer, new)
    except REFUSED as exc:
        return _list(422, form=form, refused=str(exc))
    return _list(201, secret=secret, secret_for=endpoint.to_json(svc.clock.now_ms()))


def _checked(webhook_id: str, delivery_id: str | None = None) -> str:
    """The id as the API's paths take it (a malformed one names nothing: 404)."""
    if delivery_id is not None:
        DeliveryPath.model_validate({"webhook_id": webhook_id, "delivery_id": delivery_id})
    return WebhookPath.model_validate({"webhook_id": webhook_id}).webhook_id


def _endpoint_page(webhook_id: str, status: int = 200, **extra: Any) -> Any:
    svc = context()
    webhook_id = _checked(webhook_id)
    endpoint = postbacks.get(svc.store, webhook_id, _viewer())
    before = request.args.get("before", type=int)
    found, cursor = postbacks.log(svc.store, webhook_id, LOG_PAGE, before if before else None)
    return page(
        "webhook.html",
        status,
        endpoint=endpoint.to_json(svc.clock.now_ms()),
        deliveries=[d.to_json() for d in found],
        older=cursor,
        grace_hours=GRACE_HOURS,
        default_grace=DEFAULT_GRACE_HOURS,
        ep=PREFIXES[g.viewer.role][0],
        **extra,
    )


def webhook(webhook_id: str) -> Any:
    return _endpoint_page(webhook_id)


def rotate(webhook_id: str) -> Any:
    hours = request.form.get("grace_hours", type=int)
    if hours not in GRACE_HOURS:
        raise InvalidField.one("grace_hours", f"one of {', '.join(map(str, GRACE_HOURS))}")
    secret, until = postbacks.rotate_secret(
        context(), _checked(webhook_id), _viewer(), hours * 3600
    )
    return _endpoint_page(webhook_id, secret=secret, rotated_until=until if hours else None)


def remove(webhook_id: str) -> Any:
    removed = postbacks.delete(context().store, _checked(webhook_id), _viewer())
    flash(_t("hooks.deleted", url=removed.url), "info")
    return redirect(url_for(_ep("webhooks")))


def send_again(webhook_id: str, delivery_id: str) -> Any:
    svc = context()
    postbacks.get(svc.store, _checked(webhook_id, delivery_id), _viewer())
    try:
        postbacks.retry_by_hand(svc.store, webhook_id, delivery_id, svc.clock.now_ms())
    except (Conflict, NotFound) as exc:
        flash(str(exc), "error")
    else:
        flash(_t("hooks.sent_again"), "info")
    return redirect(url_for(_ep("webhook"), webhook_id=webhook_id))


ROUTES: list[tuple[str, str, Callable[..., Any], list[str]]] = [
    ("", "webhooks", webhooks, ["GET"]),
    ("", "register_webhook", register, ["POST"]),
    ("/<webhook_id>", "webhook", webhook, ["GET"]),
    ("/<webhook_id>/secret", "rotate_webhook_secret", rotate, ["POST"]),
    ("/<webhook_id>/delete", "delete_webhook", remove, ["POST"]),
    ("/<webhook_id>/deliveries/<delivery_id>/retry", "send_delivery_again", send_again, ["POST"]),
]
for _role, (_name, _prefix) in PREFIXES.items():
    for _rule, _endpoint, _view, _methods in ROUTES:
        bp.add_url_rule(
            _prefix + _rule, f"{_name}_{_endpoint}", requires(_role)(_view), methods=_methods
        )
