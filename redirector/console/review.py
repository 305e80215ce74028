"""Admin page: orders held for review (click fraud), with Release and Reject.

The rules are in ``orders.review``; this page lists ``orders.held_orders`` and
posts the admin's decision (a form with its CSRF token, like closing a
statement). Its words are kept here and merged into the console's catalogue
(``i18n.MESSAGES``) when the console starts, so ``order.release`` and
``order.reject`` also name those events in an order's history.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, url_for

from .. import orders
from ..api import schemas
from ..errors import Conflict
from ..extension import context
from . import i18n
from .auth import ADMIN, requires
from .views import bp, page

# key: (zh-CN, en)
MESSAGES: dict[str, tuple[str, str]] = {
    "nav.held_orders": ("待审订单", "Held orders"),
    "held.title": ("待审订单", "Held orders"),
    "held.explain": (
        "归因到可疑点击（同一 IP 或设备短时间内大量点击）或点击后数秒内付款的订单被暂扣："
        "照常计入链接数据，但在放行前不进入结算。放行后已确认收货的订单立即结算；拒绝后订单不计佣金、不计入链接数据。",
        "Orders attributed to a suspicious click (a flood of clicks from one IP or device) or "
        "paid seconds after their click are held: they count in their link's figures but are "
        "not settled until released. A released order settles now if confirmed; a rejected "
        "one earns nothing and leaves its link's figures.",
    ),
    "held.none": ("没有待审订单。", "No orders are held."),
    "held.reason": ("原因", "Reason"),
    "held.release": ("放行", "Release"),
    "held.reject": ("拒绝", "Reject"),
    "held.reject_confirm": (
        "拒绝订单 {order}？它将不计佣金。",
        "Reject order {order}? It will earn nothing.",
    ),
    "held.released": ("订单 {order} 已放行。", "Order {order} released."),
    "held.rejected": ("订单 {order} 已拒绝。", "Order {order} rejected."),
    "reason.flood": ("点击洪泛", "click flood"),
    "reason.instant_conversion": ("秒级成交", "instant conversion"),
    "order.release": ("管理员放行", "released by admin"),
    "order.reject": ("管理员拒绝", "rejected by admin"),
}
for _key, _pair in MESSAGES.items():
    i18n.MESSAGES.setdefault(_key, _pair)


def say(key: str, **values: Any) -> str:
    return i18n.translate(key, g.get("lang", i18n.DEFAULT), **values)


@bp.context_processor
def _words() -> dict[str, Any]:
    return {"say": say}


@bp.get("/console/admin/held-orders")
@requires(ADMIN)
def held_orders() -> Any:
    return page("held_orders.html", held=orders.held_orders(context().store))


def _decide(storefront_id: str, order_id: str, action: str) -> Any:
    path = schemas.OrderPath.model_validate({"storefront_id": storefront_id, "order_id": order_id})
    name = f"{path.storefront_id}:{path.order_id}"
    try:
        orders.review(context(), path.storefront_id, path.order_id, action)
    except Conflict as exc:
        flash(str(exc), "error")
    else:
        flash(say(f"held.{orders.REVIEWED[action]}", order=name), "info")
    return redirect(url_for("console.held_orders"))


@bp.post("/console/admin/held-orders/<storefront_id>/<order_id>/release")
@requires(ADMIN)
def release_order(storefront_id: str, order_id: str) -> Any:
    return _decide(storefront_id, order_id, orders.RELEASE)


@bp.post("/console/admin/held-orders/<storefront_id>/<order_id>/reject")
@requires(ADMIN)
def reject_order(storefront_id: str, order_id: str) -> Any:
    return _decide(storefront_id, order_id, orders.REJECT)
