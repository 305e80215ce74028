"""The console's words in Simplified Chinese and English.

A small catalogue in code: each key has both languages (a test checks it).
The language is the ``rd_lang`` cookie when set (the switch link sets it),
else the best of the browser's ``Accept-Language``, else Simplified Chinese
(the market the service is for).
"""

from __future__ import annotations

from typing import Any

from flask import Request

ZH = "zh-CN"
EN = "en"
LANGUAGES = {ZH: "中文", EN: "English"}
DEFAULT = ZH
COOKIE = "rd_lang"

# key: (zh-CN, en)
MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("redirector 导购控制台", "redirector console"),
    "yes": ("是", "yes"),
    # navigation
    "nav.menu": ("主菜单", "Main menu"),
    "nav.dashboard": ("数据看板", "Dashboard"),
    "nav.statements": ("结算单", "Statements"),
    "nav.orders": ("订单", "Orders"),
    "nav.creators": ("达人", "Creators"),
    "nav.links": ("推广链接", "Links"),
    "nav.my_links": ("我的链接", "My links"),
    "nav.my_earnings": ("我的收益", "My earnings"),
    "nav.library": ("选品库", "Product library"),
    "nav.my_showcase": ("我的橱窗", "My showcase"),
    "nav.payouts": ("打款", "Payouts"),
    "nav.my_payouts": ("我的打款", "My payouts"),
    "nav.showcase": ("橱窗", "Showcase"),
    "nav.leaderboard": ("达人销量榜", "Sales leaderboard"),
    "nav.sign_in": ("登录", "Sign in"),
    "nav.sign_out": ("退出登录", "Sign out"),
    "role.admin": ("管理员", "admin"),
    "footer.public": ("金额单位：{currency}。", "Prices in {currency}."),
    "footer.note": (
        "金额单位：{currency}，以分为单位存储；日期按 {timezone} 时区。",
        "Money in {currency}, kept in minor units (fen); dates in {timezone}.",
    ),
    # actions
    "action.copy": ("复制", "Copy"),
    "action.copied": ("已复制", "Copied"),
    "action.show": ("查看", "Show"),
    "action.next": ("下一页", "Next"),
    "action.previous": ("上一页", "Previous"),
    # signing in
    "signin.title": ("登录控制台", "Sign in to the console"),
    "signin.help": (
        "管理员请输入管理令牌；达人请输入创建账号时获得的 API 密钥。",
        "Admins: the admin token. Creators: the API key you were given when your account was made.",
    ),
    "signin.credential": ("管理令牌或 API 密钥", "Admin token or API key"),
    "signin.submit": ("登录", "Sign in"),
    "signin.failed": (
        "令牌或密钥无效，请检查后重试。",
        "That is not a valid admin token or API key.",
    ),
    "signout.done": ("已退出登录。", "You are signed out."),
    # figures
    "fig.clicks": ("点击", "Clicks"),
    "fig.unique_clicks": ("独立点击", "Unique clicks"),
    "fig.bot_clicks": ("机器人点击", "Bot clicks"),
    "fig.suspicious_clicks": ("可疑点击", "Suspicious clicks"),
    "fig.suspicious_clicks_help": (
        "同一 IP 或设备短时间内点击过多时超出阈值的点击："
        "仍计入点击，但归因到它们的订单将暂扣待审。",
        "Clicks over a flood threshold (too many from one IP or device in a short time): "
        "they still count as clicks, but orders attributed to them are held for review.",
    ),
    "fig.actions": ("操作", "Actions"),
    "fig.orders": ("订单数", "Orders"),
    "fig.gmv": ("成交额 (GMV)", "GMV"),
    "fig.commission": ("佣金", "Commission"),
    "fig.network": ("技术服务费", "Network fee"),
    "fig.platform": ("平台分成", "Platform share"),
    "fig.guide": ("导购分成", "Guide share"),
    "fig.ad_spend": ("广告投放", "Ad spend"),
    "fig.ad_rebate": ("广告返还", "Ad rebate"),
    "fig.platform_net": ("平台净额", "Platform net"),
    "fig.guide_payable": ("应付导购", "Guide payable"),
    "fig.totals": ("合计", "Totals"),
    "fig.account": ("结算账户", "Account"),
    "fig.agency": ("机构", "Agency"),
    "fig.channel": ("渠道", "Channel"),
    "fig.placement": ("内容形式", "Placement"),
    "fig.period": ("结算周期", "Period"),
    "fig.status": ("状态", "Status"),
    "fig.creator": ("达人", "Creator"),
    "fig.product": ("商品", "Product"),
    "fig.link": ("链接", "Link"),
    "fig.click": ("点击", "Click"),
    "fig.url": ("推广链接", "Tracking URL"),
    "fig.post_id": ("帖子 ID", "Post id"),
    "fig.created": ("创建时间", "Created"),
    "fig.order": ("订单", "Order"),
    "fig.storefront": ("店铺", "Storefront"),
    "fig.amount": ("金额", "Amount"),
    "fig.refunded": ("已退款", "Refunded"),
    "fig.rate": ("佣金比例", "Commission rate"),
    "fig.settled_period": ("结算于", "Settled in"),
    "fig.paid_at": ("付款时间", "Paid at"),
    # form fields (validation messages name them)
    "field.product_id": ("商品", "Product"),
    "field.channel": ("渠道", "Channel"),
    "field.post_id": ("帖子 ID", "Post id"),
    "field.placement": ("内容形式", "Placement"),
    "field.body": ("表单", "Form"),
    "field.sub1": ("子 ID 1", "Sub-id 1"),
    "field.sub2": ("子 ID 2", "Sub-id 2"),
    "field.sub3": ("子 ID 3", "Sub-id 3"),
    # values
    "status.open": ("未结", "open"),
    "status.closed": ("已结", "closed"),
    "account.agency": ("机构", "agency"),
    "account.creator": ("独立达人", "creator"),
    "placement.video": ("视频", "video"),
    "placement.article": ("文章", "article"),
    "placement.image": ("图文", "image"),
    "placement.live": ("直播", "live"),
    "order.paid": ("已付款", "paid"),
    "order.confirmed": ("已确认收货", "confirmed"),
    "order.refunded": ("已退款", "refunded"),
    "order.cancelled": ("已取消", "cancelled"),
    # dashboard
    "dash.range": ("时间范围", "Range"),
    "dash.days": ("近 {days} 天", "{days} days"),
    "dash.all_time": ("累计", "All time"),
    "dash.all_time_note": (
        "{links} 条链接的统计之和（订单自付款起计，已扣退款）",
        "the stats of {links} links added up (orders counted from payment, net of refunds)",
    ),
    "dash.see_statement": ("查看结算单", "see the statement"),
    "chart.clicks_per_day": ("近 {days} 天每日点击", "Clicks per day, last {days} days"),
    "chart.clicks_per_day_note": (
        "所有链接的每日点击之和，按 {timezone} 本地日期。",
        "Every link's per-day series added up, by local day in {timezone}.",
    ),
    "chart.periods": ("各结算周期成交与佣金", "Settled per period"),
    "chart.periods_note": (
        "来自各期结算单合计：订单计入确认收货（加冻结天数）所在的月份，而非付款日。",
        "Each period's statement totals: an order counts in the month it is confirmed "
        "(plus holding days), not the day it was paid.",
    ),
    "chart.by_channel": ("按渠道", "By channel"),
    "chart.by_placement": ("按内容形式", "By placement"),
    "chart.by_link_stats_note": (
        "链接统计之和（累计）：成交额与佣金，各为一根柱。点击数见下表。",
        "Link stats added up (all time): GMV and commission, one bar each. "
        "Clicks are in the table below.",
    ),
    "chart.link_per_day_note": (
        "本链接的每日序列（与 API 的 series 相同），按 {timezone} 本地日期。",
        "This link's per-day series (as the API's series gives it), by local day in {timezone}.",
    ),
    "chart.money_per_day": (
        "近 {days} 天每日成交额与佣金",
        "GMV and commission per day, last {days} days",
    ),
    "chart.money_per_day_note": (
        "各链接的每日序列之和，按 {timezone} 本地日期：付款日计入，退款与取消在其发生日扣除。",
        "Every link's per-day series added up, by local day in {timezone}: "
        "a payment adds on its day, a refund or cancellation takes off on its own.",
    ),
    # statements
    "statement.title": ("{period} 结算单", "Statement {period}"),
    "statement.csv": ("下载 CSV", "Download CSV"),
    "statement.close": ("结账关闭本期", "Close the period"),
    "statement.close_confirm": (
        "关闭 {period} 后结算单将冻结，不可撤销。确定吗？",
        "Closing {period} freezes its statement for good. Close it?",
    ),
    "statement.closed_now": (
        "{period} 已关闭，结算单已冻结。",
        "{period} is closed: its statement is frozen.",
    ),
    "statement.not_ended": (
        "本期尚未结束，{when} 起可关闭。",
        "The period has not ended: it can be closed from {when}.",
    ),
    "statement.frozen": (
        "已于 {when} 关闭，结算单已冻结。",
        "Closed at {when}; the statement is frozen.",
    ),
    "statement.explain": (
        "每个结算账户（机构，或无机构的独立达人）每个渠道一行；佣金按渠道方案以最大余数法分成技术服务费、"
        "平台分成与导购分成；广告投放抵扣平台分成并返还给导购。",
        "One line per guide account (the agency, or an independent creator) and channel; each "
        "line's commission is split network / platform / guide by the channel's program with "
        "the largest remainder; ad spend offsets the platform share and is rebated to the guide.",
    ),
    "statement.ad_spend_once": (
        "账户的广告投放只在它的第一行列出（—：同上），与合计一样每个账户只计一次。",
        "An account's ad spend is shown once, on its first line (—: as above), as the total "
        "counts it once.",
    ),
    "statement.adjustment": ("调整", "adjustment"),
    "statement.adjusts": ("调整订单：", "adjusts"),
    "statement.empty": ("本期尚无结算。", "Nothing settled in this period yet."),
    # orders
    "orders.back": ("← 全部订单", "← all orders"),
    "order.summary": ("概要", "Summary"),
    "order.attribution": ("归因", "Attribution"),
    "order.by": ("归因方式", "Attributed by"),
    "order.unattributed": ("未归因", "unattributed"),
    "order.unattributed_long": (
        "此订单未归因到任何点击：不产生佣金。",
        "This order was not attributed to any click: it earns nothing.",
    ),
    "order.history": ("事件历史", "History"),
    "order.occurred": ("发生时间", "Occurred"),
    "order.received": ("接收时间", "Received"),
    "order.webhook": ("webhook-id", "webhook-id"),
    "order.applied": ("已应用", "Applied"),
    "order.no_op": ("重复，无变化", "no change (repeat)"),
    # creators and links
    "creators.note": (
        "链接统计为累计值，与 API 的链接统计一致。",
        "Link stats are all-time, as the API's link stats.",
    ),
    "creators.independent": ("独立", "independent"),
    "creators.none": ("还没有达人。", "No creators yet."),
    "links.all_creators": ("全部达人", "all creators"),
    "links.active": ("有效", "active"),
    "links.inactive": ("已停用", "inactive"),
    "links.none": ("还没有链接。", "No links yet."),
    "links.made": ("链接已生成。", "Your link is ready."),
    "links.disabled": ("链接已停用。", "The link is disabled."),
    # creator pages
    "mine.hello": ("{name} 的推广链接", "{name}'s links"),
    "mine.make": ("生成推广链接", "Make a tracking link"),
    "mine.make_submit": ("生成链接", "Make the link"),
    "mine.optional": ("（可选）", "(optional)"),
    "mine.rate": ("佣金 {rate}", "commission {rate}"),
    "mine.links": ("我的链接", "My links"),
    "mine.no_links": (
        "还没有链接：用上面的表单生成一个。",
        "No links yet: make one with the form.",
    ),
    "mine.no_products": ("商品库中暂无在售商品。", "The product library has no active product."),
    "mine.disable": ("停用", "Disable"),
    "mine.disable_confirm": (
        "停用后该链接的点击将返回 410。确定吗？",
        "Once disabled, the link answers 410. Disable it?",
    ),
    "mine.sub_ids": ("子 ID", "Sub-ids"),
    "mine.sub_ids_help": (
        "你自己的标签（活动、人群、版本），可按它筛选和汇总：字母、数字和 _ . -，生成后不可更改。",
        "Your own labels (campaign, audience, variant) to filter and add up by: "
        "letters, digits, _ . -; fixed once the link is made.",
    ),
    "mine.details": ("二维码与详情", "QR code and details"),
    # one link's page
    "link.back": ("← 我的链接", "← My links"),
    "link.facts": ("链接信息", "The link"),
    "link.created": ("生成时间", "Made"),
    "link.sub_ids_fixed": (
        "子 ID 在生成链接时确定，不会发送给店铺（点击 ID 已能对应到本链接）。",
        "Sub-ids were fixed when the link was made; they are never sent to the storefront "
        "(the click id already names this link).",
    ),
    "link.qr": ("二维码", "QR code"),
    "link.qr_alt": ("{url} 的二维码", "QR code of {url}"),
    "link.qr_help": (
        "扫码即打开本推广链接，点击照常统计与归因。印刷请用 SVG（任意放大都清晰）。",
        "Scanning it opens this tracking link: the click is counted and attributed as any "
        "other. For print, take the SVG (sharp at any size).",
    ),
    "link.download_svg": ("下载 SVG", "Download SVG"),
    "link.download_png": ("下载 PNG", "Download PNG"),
    "link.qr_inactive": (
        "链接已停用或商品已下架，不再提供二维码。",
        "The link is disabled or its product inactive: no QR code to hand out.",
    ),
    "link.clicks_csv": ("下载原始点击（CSV）", "Download raw clicks (CSV)"),
    "link.clicks_csv_note": (
        "最近 24 小时；API 可导出最近 {days} 天内的任意时段。",
        "The last 24 hours; the API exports any range of the last {days} days.",
    ),
    "earnings.title": ("{period} 收益", "Earnings {period}"),
    "earnings.note": (
        "来自该期结算单中你的部分（与 API 的收益接口一致）。",
        "Your part of the period's statement (as the API's earnings answer).",
    ),
    "earnings.lines": ("明细", "Lines"),
    "earnings.none": ("本期没有结算给你的订单。", "Nothing settled to you in this period."),
    "earnings.by_period": ("按结算周期", "By period"),
    "earnings.payable_note": (
        "应付导购：本期将付给你的金额（导购分成加广告返还，含调整），在本期结账时计入打款或结转。",
        "Guide payable: what this period pays you (guide share plus ad rebate, adjustments "
        "included), paid or carried over when the period closes.",
    ),
    "earnings.payouts": ("本期结账打款", "Paid at this period's close"),
    # payouts
    "payouts.title": ("{period} 结账打款", "Payouts at the close of {period}"),
    "payouts.explain": (
        "结账时，每个结算账户本期的应付导购（含调整行，可能为负）加上结转余额，"
        "达到最低打款额 {minimum} 即生成一笔打款，否则结转到下次结账。"
        "打款失败后金额退回余额，在之后的结账中再付。",
        "At a close, each guide account's guide payable for the period (adjustment lines "
        "included, negative ones too) plus the balance it carried becomes a payout when it "
        "reaches the minimum of {minimum}; otherwise it carries to the next close. A failed "
        "payout's amount returns to the balance and is paid at a later close.",
    ),
    "payouts.open": (
        "本期尚未结账：结账时才会生成打款。",
        "This period is not closed yet: its payouts are made when it closes.",
    ),
    "payouts.none": ("本期结账没有生成打款。", "No payout was made at this close."),
    "payouts.csv": ("下载银行批量文件 (CSV)", "Download the bank batch (CSV)"),
    "payouts.id": ("打款编号", "Payout"),
    "payouts.name": ("户名", "Name"),
    "payouts.created": ("生成时间", "Made"),
    "payouts.outcome": ("结果", "Outcome"),
    "payouts.reference": ("转账凭证号", "Reference"),
    "payouts.reason": ("失败原因", "Reason"),
    "payouts.mark_paid": ("标记已付", "Mark paid"),
    "payouts.mark_failed": ("标记失败", "Mark failed"),
    "payouts.failed_confirm": (
        "标记打款 {id} 失败？金额将退回该账户余额。",
        "Mark payout {id} failed? Its amount returns to the account's balance.",
    ),
    "payouts.marked_paid": ("打款 {id} 已标记为已付。", "Payout {id} is marked paid."),
    "payouts.marked_failed": (
        "打款 {id} 已标记为失败，金额已退回余额。",
        "Payout {id} is marked failed: its amount is back in the balance.",
    ),
    "payouts.totals": ("本期合计", "This close"),
    "payouts.balances": ("结转余额", "Balances carried"),
    "payouts.balances_note": (
        "下次结账时将与该账户的应付导购相加；负数来自结账后的退款。",
        "Added to each account's guide payable at the next close; negative ones come from "
        "refunds after a close.",
    ),
    "payouts.no_balances": ("没有结转余额。", "No account carries a balance."),
    "payout.pending": ("待打款", "pending"),
    "payout.paid": ("已付", "paid"),
    "payout.failed": ("失败", "failed"),
    "mypayouts.title": ("我的打款", "My payouts"),
    "mypayouts.balance": ("结转余额", "Balance carried"),
    "mypayouts.minimum": ("最低打款额", "Minimum payout"),
    "mypayouts.explain": (
        "每月结账时，你的应付导购加上结转余额达到最低打款额即打款，否则结转到下月。",
        "At each month's close your guide payable plus your balance is paid once it reaches "
        "the minimum payout; otherwise it carries to the next month.",
    ),
    "mypayouts.agency": (
        "你的收益通过机构 {agency} 结算打款：你没有自己的打款与余额。",
        "You are paid through your agency, {agency}: you have no payouts or balance of your own.",
    ),
    "mypayouts.none": ("还没有打款。", "No payouts yet."),
    # public pages
    "showcase.title": ("{name} 的橱窗", "{name}'s showcase"),
    "showcase.intro": (
        "达人推荐的好物：通过下面的链接购买即可支持 TA。",
        "What this creator recommends: buying through these links supports them.",
    ),
    "showcase.buy": ("去购买", "Buy"),
    "showcase.empty": ("橱窗里还没有商品。", "Nothing in this showcase yet."),
    "showcase.next": ("更早的商品", "Older products"),
    "board.title": ("达人销量榜", "Creators' sales leaderboard"),
    "board.all_channels": ("全部渠道", "all channels"),
    "board.rank": ("排名", "Rank"),
    "board.top": ("前 {n} 名成交额", "Top {n} by GMV"),
    "board.note": (
        "按该期结算的成交额（已扣退款）排名，同额按订单数，再按达人 ID；退款多于销售的达人不上榜。",
        "Ranked by the GMV the period settles (net of refunds), then by orders, then by id; "
        "creators whose refunds outweigh their sales are not listed.",
    ),
    "board.empty": ("该期暂无结算的订单。", "Nothing settled in this period yet."),
    # the landing page (``console.landing``)
    "landing.title": ("打开商品", "Open the product"),
    "landing.in_app": ("{app}内无法直接打开商店", "{app} does not open the shop directly"),
    "landing.in_app_unknown": (
        "此应用内无法直接打开商店",
        "This app does not open the shop directly",
    ),
    "landing.menu": ("点击右上角的「···」", "Tap ··· at the top right"),
    "landing.open_ios": ("选择「在 Safari 中打开」", "Choose Open in Safari"),
    "landing.open_android": ("选择「在浏览器中打开」", "Choose Open in browser"),
    "landing.open_wechat_ios": ("选择「在Safari中打开」", "Choose Open in Safari"),
    "landing.open_wechat_android": ("选择「在浏览器打开」", "Choose Open in Browser"),
    "landing.then": (
        "页面会在手机浏览器中重新打开，再点「打开 App」即可。",
        "The page opens again in the phone's browser: press Open in the app there.",
    ),
    "landing.share_code": ("商品口令", "Share code"),
    "landing.share_code_help": (
        "复制口令，打开购物 App 即可看到这件商品。",
        "Copy the code and open the shopping app: it shows this product.",
    ),
    "landing.copy": ("复制口令", "Copy the code"),
    "landing.open_app": ("打开 App 购买", "Open in the app"),
    "landing.open_web": ("打开网页购买", "Open the web page"),
    "landing.unavailable": (
        "商品信息暂时无法显示，下面的按钮仍可直达商品。",
        "The product's details cannot be shown just now; the buttons still lead to it.",
    ),
    "app.wechat": ("微信", "WeChat"),
    "app.wecom": ("企业微信", "WeCom"),
    "app.qq": ("QQ", "QQ"),
    "app.weibo": ("微博", "Weibo"),
    "app.douyin": ("抖音", "Douyin"),
    "app.toutiao": ("今日头条", "Toutiao"),
    "app.kuaishou": ("快手", "Kuaishou"),
    "app.alipay": ("支付宝", "Alipay"),
    "app.dingtalk": ("钉钉", "DingTalk"),
    "app.xiaohongshu": ("小红书", "Xiaohongshu"),
    "app.baidu": ("百度", "Baidu"),
    "app.feishu": ("飞书", "Feishu"),
    # errors
    "error.generic": ("出错了。", "Something went wrong."),
    "error.home": ("返回首页", "Back to the console"),
    "error.csrf": (
        "表单已过期或无效，请返回刷新后重试。",
        "The form expired or is not valid: go back, reload and try again.",
    ),
    "error.403": ("你没有权限查看此页面。", "You may not see this page."),
    "error.404": ("页面不存在。", "There is no such page."),
    "error.405": ("不支持此请求方法。", "This page does not answer that method."),
    "error.503": ("服务暂时不可用，请稍后再试。", "The service is briefly unavailable: try again."),
    "error.429": (
        "来自你的网络地址的登录失败次数过多。",
        "Too many failed sign-ins from your address.",
    ),
    "error.retry_after": ("请在 {seconds} 秒后再试。", "Try again in {seconds} s."),
    # the product library
    "library.title": ("选品库", "Product library"),
    "library.keyword": ("关键词", "Keyword"),
    "library.keyword_hint": ("商品标题中的词", "words in the title"),
    "library.category": ("类目", "Category"),
    "library.storefront": ("店铺平台", "Storefront"),
    "library.min_rate": ("最低佣金率", "Minimum commission"),
    "library.any": ("不限", "any"),
    "library.sort": ("排序", "Sort by"),
    "sorting.newest": ("最新上架", "newest"),
    "sorting.sales": ("销量", "sales"),
    "sorting.commission": ("佣金率", "commission rate"),
    "sorting.price": ("价格", "price"),
    "library.order": ("顺序", "Order"),
    "direction.default": ("默认", "default"),
    "direction.desc": ("从高到低", "high to low"),
    "direction.asc": ("从低到高", "low to high"),
    "library.search": ("搜索", "Search"),
    "library.sold": ("已售 {count} 单", "{count} sold"),
    "library.make": ("一键生成链接", "Make my link"),
    "library.made": ("「{title}」的推广链接", "Your link for “{title}”"),
    "library.share_code": (
        "淘口令（复制后打开购物 App）",
        "Share code (paste it into the shopping app)",
    ),
    "library.none": ("没有符合条件的商品。", "No product matches."),
    "library.next": ("下一页", "Next page"),
    "library.first": ("第一页", "First page"),
}


def translate(key: str, lang: str, **values: Any) -> str:
    """The message in ``lang`` (the key itself when unknown, so a gap shows)."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[0] if lang == ZH else pair[1]
    return text.format(**values) if values else text


def pick_language(request: Request) -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    if not request.accept_languages:
        return DEFAULT
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    if best is None:  # a browser that reads neither: English is the likelier second language
        return EN
    return ZH if best.lower().startswith("zh") else EN
