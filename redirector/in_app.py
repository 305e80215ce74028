"""In-app browsers: which app a page was opened in, told by its user agent.

A link posted on Weibo or Douyin and tapped there opens in that app's own
browser, and some of those browsers refuse to open a storefront's app or
pages (``landing``). Each app marks its browser's user agent with a token of
its own; this table is the one place those tokens are listed. It is read
once per distinct user agent (``bots.classify_user_agent`` memoises), but
a pre-check keeps the cost of the common answer, no app, to one search.

The table, first match wins (order matters only where an app's user agent
carries another's token):

| app | token(s) | note |
|---|---|---|
| ``wecom`` | ``wxwork/`` | WeCom (企业微信) also says ``MicroMessenger``: before WeChat |
| ``wechat`` | ``MicroMessenger`` | an old WeChat for Android also says ``QQ/``: before QQ |
| ``qq`` | ``QQ/<digit>`` (not ``MQQBrowser/``) | mobile QQ; TIM and iPad QQ share its browser |
| ``weibo`` | ``Weibo``, ``__weibo__`` | Weibo, Weibo Lite, Weibo International |
| ``douyin`` | ``aweme`` | Douyin and Douyin Lite (``aweme_lite``) |
| ``toutiao`` | ``NewsArticle/`` | Toutiao (今日头条), also a ByteDance WebView |
| ``douyin`` | ``BytedanceWebview``, ``ByteLocale`` | other ByteDance WebViews, unless TikTok's |
| ``kuaishou`` | ``Kwai``, ``ksNebula`` | Kuaishou, Kuaishou Lite (``ksNebula``), Kwai |
| ``alipay`` | ``AlipayClient/`` | |
| ``dingtalk`` | ``DingTalk/`` | written ``AliApp(DingTalk/x)`` |
| ``xiaohongshu`` | ``xhsdiscover``, ``XiaoHongShu`` | |
| ``baidu`` | ``baiduboxapp/`` | the Baidu app |
| ``feishu`` | ``Lark/`` | Feishu (飞书) and Lark, one app |

Not in-app browsers, so not in the table: QQ Browser (``MQQBrowser/`` with no
``QQ/``), a full browser that opens apps like any other, and the X5/TBS
kernel that WeChat and QQ on Android run on, whose ``MQQBrowser/6.2 TBS/``
appears in their user agents too; TikTok (``musical_ly``, ``trill``), which
shares ByteDance's WebView tokens but serves another market.
"""

from __future__ import annotations

import re

__all__ = ["APPS", "app_of"]

# (app, pattern), in the table's order.
_APPS: tuple[tuple[str, str], ...] = (
    ("wecom", r"wxwork/"),
    ("wechat", r"MicroMessenger"),
    ("qq", r"(?<![A-Za-z])QQ/\d"),
    ("weibo", r"Weibo|__weibo__"),
    ("douyin", r"aweme"),
    ("toutiao", r"NewsArticle/"),
    ("douyin", r"BytedanceWebview|ByteLocale|ByteFullLocale"),
    ("kuaishou", r"Kwai|kwai|ksNebula"),
    ("alipay", r"AlipayClient/"),
    ("dingtalk", r"DingTalk/"),
    ("xiaohongshu", r"xhsdiscover|XiaoHongShu"),
    ("baidu", r"baiduboxapp/"),
    ("feishu", r"Lark/"),
)
APPS: tuple[str, ...] = tuple(dict.fromkeys(app for app, _ in _APPS))

_ANY_APP = re.compile("|".join(f"(?:{pattern})" for _, pattern in _APPS))
_EACH = tuple((app, re.compile(pattern)) for app, pattern in _APPS)
# TikTok shares ByteDance's WebView tokens but is a different app and market.
_TIKTOK = re.compile(r"musical_ly|\btrill_|AppName/trill")


def app_of(user_agent: str) -> str | None:
    """The in-app browser a user agent names (``APPS``), or None."""
    if not _ANY_APP.search(user_agent):
        return None
    for app, pattern in _EACH:
        if pattern.search(user_agent):
            if app == "douyin" and "aweme" not in user_agent and _TIKTOK.search(user_agent):
                return None
            return app
    return None  # unreached: the pre-check matched one of the patterns
