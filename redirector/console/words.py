"""Words the console shows for the service's own names: channels, the ways an
order is attributed, and the postback and order-list pages' labels.

Channels are program slugs (``weibo``); a page shows ``channel_name(slug)``:
the name in the viewer's language, or the slug itself for a channel this
catalogue does not know (a program added in ``programs.toml`` later). These
words are merged into the console's catalogue (``i18n.MESSAGES``), as the held
orders page does with its own.
"""

from __future__ import annotations

from typing import Any

from flask import g

from .. import registry
from ..errors import NotFound
from ..extension import context
from . import i18n
from .views import bp

__all__ = ["CHANNELS", "MESSAGES", "attributed_by", "channel_name", "name_of"]

# slug: (zh-CN, en)
CHANNELS: dict[str, tuple[str, str]] = {
    "weibo": ("微博", "Weibo"),
    "douyin": ("抖音", "Douyin"),
    "kuaishou": ("快手", "Kuaishou"),
    "xiaohongshu": ("小红书", "Xiaohongshu"),
    "wechat": ("微信", "WeChat"),
    "bilibili": ("哔哩哔哩", "Bilibili"),
    "zhihu": ("知乎", "Zhihu"),
    "qq": ("QQ", "QQ"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    # how an order was attributed (``attribution.Credit.how``)
    "by.click_id": ("点击编号（同一次点击）", "the click's id (the same click)"),
    "by.device_id": ("设备（此前点击过的设备）", "the device (it clicked before)"),
    "order.delivery_id": ("回调编号", "Callback id"),
    # the order list
    "orders.title": ("订单", "Orders"),
    "orders.mine": ("我的订单", "My orders"),
    "orders.find": ("按订单号查找", "Find an order by its number"),
    "orders.find_help": (
        "只需订单号：在所有店铺平台中查找。",
        "The order number alone: every storefront is searched.",
    ),
    "orders.not_found": ("没有找到订单号 {order_id}。", "No order numbered {order_id}."),
    "orders.found_several": (
        "订单号 {order_id} 在多个店铺平台都有：",
        "Order number {order_id} is in several storefronts:",
    ),
    "orders.filters": ("筛选", "Filter"),
    "orders.any_status": ("全部状态", "any status"),
    "orders.any_creator": ("全部达人", "any creator"),
    "orders.any_storefront": ("全部店铺平台", "any storefront"),
    "orders.any_period": ("全部月份", "any month"),
    "orders.period": ("付款月份", "Month paid"),
    "orders.apply": ("筛选", "Apply"),
    "orders.csv": ("下载 CSV（全部符合条件的订单）", "Download CSV (every matching order)"),
    "orders.first": ("第一页", "First page"),
    "orders.next": ("下一页", "Next page"),
    "orders.empty": ("没有符合条件的订单。", "No order matches."),
    "orders.short_page": (
        "本页只查阅了部分索引，可能不足一页：请点下一页继续。",
        "This page read only part of the index and may be short: go on to the next page.",
    ),
    "orders.order_no": ("订单号", "Order number"),
    # the dashboard's current period (replaces "This period, X, settled open")
    "dash.period_heading": ("{period} 结算期（{status}）", "Settlement for {period} ({status})"),
    # postback (webhook) endpoints
    "nav.webhooks": ("回调推送", "Webhooks"),
    "hooks.title": ("回调推送地址", "Webhook endpoints"),
    "hooks.intro": (
        "我们在事件发生时向这些地址发送签名的 POST 请求（Standard Webhooks）。",
        "We send a signed POST (Standard Webhooks) to these addresses when events happen.",
    ),
    "hooks.none": ("还没有回调地址。", "No endpoint yet."),
    "hooks.url": ("接收地址", "Address (URL)"),
    "hooks.events": ("事件", "Events"),
    "hooks.scope": ("范围", "Receives"),
    "hooks.scope_all": ("全部事件", "everything"),
    "hooks.scope_agency": ("机构：{name}", "agency: {name}"),
    "hooks.scope_creator": ("达人：{name}", "creator: {name}"),
    "hooks.agency": ("只推送某个机构的达人（可选）", "Only one agency's creators (optional)"),
    "hooks.agency_none": ("全部（不限机构）", "everything (no agency)"),
    "hooks.created": ("创建时间", "Created"),
    "hooks.register": ("添加回调地址", "Add an endpoint"),
    "hooks.registered": ("已添加回调地址。", "Endpoint added."),
    "hooks.secret_title": ("签名密钥（只显示这一次）", "Signing secret (shown this once)"),
    "hooks.secret_help": (
        "请立即复制并保存：离开本页后无法再次查看。",
        "Copy and keep it now: it cannot be shown again once you leave this page.",
    ),
    "hooks.previous_until": (
        "旧密钥仍同时签名，直到 {when}",
        "The previous secret still signs too, until {when}",
    ),
    "hooks.rotate": ("更换密钥", "Rotate the secret"),
    "hooks.grace": ("旧密钥继续有效", "Keep the old secret for"),
    "hooks.grace_hours": ("{hours} 小时", "{hours} h"),
    "hooks.grace_none": ("立即失效", "no time (stop now)"),
    "hooks.rotated": ("已更换密钥。", "Secret rotated."),
    "hooks.delete": ("删除", "Delete"),
    "hooks.deleted": ("已删除回调地址 {url}。", "Endpoint {url} deleted."),
    "hooks.log": ("推送记录", "Delivery log"),
    "hooks.back": ("返回回调地址列表", "Back to the endpoints"),
    "hooks.event": ("事件", "Event"),
    "hooks.message_id": ("消息编号", "Message id"),
    "hooks.state": ("状态", "State"),
    "hooks.attempts": ("尝试次数", "Attempts"),
    "hooks.last_answer": ("最近一次应答", "Last answer"),
    "hooks.next_try": ("下次重试", "Next try"),
    "hooks.no_answer": ("无应答：{error}", "no answer: {error}"),
    "hooks.log_empty": ("还没有推送。", "Nothing sent yet."),
    "hooks.send_again": ("重新发送", "Send again"),
    "hooks.sent_again": ("已重新排队发送。", "Queued to be sent again."),
    "hooks.older": ("更早的记录", "Older deliveries"),
    "delivery.pending": ("等待发送", "pending"),
    "delivery.delivered": ("已送达", "delivered"),
    "delivery.failed": ("失败", "failed"),
    "event.order.attributed": ("订单已归因", "order attributed"),
    "event.order.held": ("订单待审核", "order held for review"),
    "event.order.released": ("订单审核通过", "order released"),
    "event.order.rejected": ("订单审核拒绝", "order rejected"),
    "event.order.confirmed": ("订单已确认收货", "order confirmed"),
    "event.order.refunded": ("订单已退款", "order refunded"),
    "event.order.cancelled": ("订单已取消", "order cancelled"),
    "event.statement.closed": ("结算单已结账", "statement closed"),
    "event.payout.created": ("打款已生成", "payout created"),
    "event.payout.paid": ("打款已完成", "payout paid"),
    "event.payout.failed": ("打款失败", "payout failed"),
}
for _key, _pair in MESSAGES.items():
    i18n.MESSAGES.setdefault(_key, _pair)  # the main catalogue's word wins, as review's


def _lang() -> str:
    return str(g.get("lang", i18n.DEFAULT))


def channel_name(slug: str | None, lang: str | None = None) -> str:
    """The channel's name in ``lang`` (the viewer's), or its slug when unknown."""
    if not slug:
        return "—"
    pair = CHANNELS.get(slug)
    if pair is None:
        return slug
    return pair[0] if (lang or _lang()) == i18n.ZH else pair[1]


def attributed_by(how: str | None) -> str:
    """How an order was attributed, in words (the raw value when unknown)."""
    key = f"by.{how}"
    return i18n.translate(key, _lang()) if key in i18n.MESSAGES else str(how or "—")


def _lookup(kind: str, ident: str) -> str:
    r = context().store
    if kind == "creator":
        return str(registry.get_creator(r, ident)["name"])
    if kind == "agency":
        return str(registry.get_agency(r, ident)["name"])
    if kind == "storefront":
        return registry.get_storefront(r, ident).name
    return str(registry.get_product(r, ident)["title"])


def name_of(kind: str, ident: str | None) -> str:
    """The name of a creator, agency, storefront or product (its id when it has
    none, or is gone), read once per request."""
    if not ident:
        return "—"
    seen: dict[tuple[str, str], str] = g.setdefault("names_seen", {})
    if (kind, ident) not in seen:
        try:
            seen[kind, ident] = _lookup(kind, ident) or ident
        except NotFound:
            seen[kind, ident] = ident
    return seen[kind, ident]


@bp.context_processor
def _words() -> dict[str, Any]:
    return {"channel_name": channel_name, "attributed_by": attributed_by, "name_of": name_of}
