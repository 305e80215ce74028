"""What the simulated audience sends as a user agent, and the bots among it.

A browsing context is ``<app>/<platform>`` as the service labels it (each
channel's in-app browser on iOS and Android, WeChat, where links are shared,
mobile Safari/Chrome and the Huawei browser, desktop browsers); a channel's
audience opens links from a mix of them (``CONTEXT_MIX``). About 8% of the
requests are crawlers, link-preview fetchers, ``HEAD`` link checkers and
browser prefetches (``bot_request``), which the service must count as bots.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = [
    "CONTEXT_MIX",
    "REFERRERS",
    "BotRequest",
    "bot_request",
    "human_user_agent",
]

IOS_VERSIONS = ("16_6", "17_4", "17_5_1", "17_6", "18_0", "18_1")
IPHONES = ("iPhone13,2", "iPhone14,5", "iPhone15,2", "iPhone15,4", "iPhone16,1", "iPhone16,2")
ANDROIDS = (
    ("13", "V2231A", "TP1A.220624.014"),
    ("12", "PFJM10", "SP1A.210812.016"),
    ("14", "23049RAD8C", "UKQ1.230804.001"),
    ("13", "22081212C", "TKQ1.220829.002"),
    ("14", "PJZ110", "UKQ1.231108.001"),
    ("14", "V2309A", "UP1A.231005.007"),
    ("13", "PHB110", "TP1A.220905.001"),
    ("14", "2211133C", "UKQ1.230917.001"),
    ("12", "M2102K1C", "SKQ1.211006.001"),
    ("14", "RMX3888", "UKQ1.231108.001"),
)
# In-app browsers name the network and their own build: a crowd's phones
# differ in them as much as in models (a farm's images do not).
NET_TYPES = ("WIFI", "WIFI", "4G", "5G")
DOUYIN_VERSIONS = (("29.1.0", "290100"), ("29.5.0", "290500"), ("30.0.0", "300000"),
                   ("30.2.0", "300200"))  # fmt: skip
KUAISHOU_VERSIONS = ("11.6.30.5658", "11.8.20.6339", "12.0.10.7012", "12.1.30.7321")
WECHAT_VERSIONS = (("8.0.42", "0x28002A3B"), ("8.0.47", "0x18002f2c"), ("8.0.49", "0x18003137"),
                   ("8.0.50", "0x1800323d"))  # fmt: skip
WEIBO_VERSIONS = ("14.2.2", "14.3.0", "14.5.1", "14.8.0")
CHROMES = ("110.0.5481.153", "118.0.5993.80", "124.0.6367.179", "126.0.6478.122")


def _ios_ua(rng: random.Random, tail: str) -> str:
    ios = rng.choice(IOS_VERSIONS)
    return (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Mobile/15E148 {tail}"
    ).replace("{ios}", ios.replace("_", "."))


def _android_ua(rng: random.Random, tail: str) -> str:
    version, model, build = rng.choice(ANDROIDS)
    return (
        f"Mozilla/5.0 (Linux; Android {version}; {model} Build/{build}; wv) "
        f"AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{rng.choice(CHROMES)} "
        f"Mobile Safari/537.36 {tail}"
    ).replace("{model}", model)


def human_user_agent(rng: random.Random, context: str) -> str:
    """A user agent for a browsing context: ``<app>/<platform>`` as the service labels it."""
    app, _, platform = context.partition("/")
    net = rng.choice(NET_TYPES)
    if app == "weibo":
        weibo = rng.choice(WEIBO_VERSIONS)
        if platform == "ios":
            return _ios_ua(rng, f"Weibo ({rng.choice(IPHONES)}__weibo__{weibo}__iphone__os{{ios}})")
        return _android_ua(rng, f"Weibo ({{model}}__weibo__{weibo}__android__android13)")
    if app == "douyin":
        name, code = rng.choice(DOUYIN_VERSIONS)
        if platform == "ios":
            return _ios_ua(
                rng,
                f"aweme_{name} JsSdk/2.0 NetType/{net} Channel/App Store ByteLocale/zh "
                "Region/CN AppTheme/light",
            )
        return _android_ua(
            rng,
            f"aweme_{code} JsSdk/1.0 NetType/{net} Channel/vivo_1128_64 AppName/aweme "
            f"app_version/{name} ByteLocale/zh-CN Region/CN AppSkin/white",
        )
    if app == "kuaishou":
        kwai = rng.choice(KUAISHOU_VERSIONS)
        if platform == "ios":
            return _ios_ua(
                rng,
                f"Kwai/{kwai} ISLP/0 StatusHT/47 KDT/PHONE ISDM/0 TitleHT/44 NetType/{net} "
                "ICFO/0 locale/zh-Hans CT/0 Yoda/3.2.2.2 ISLB/0 CoIS/2 WebViewType/WK",
            )
        return _android_ua(
            rng,
            f"Yoda/3.1.6-rc4 ksNebula/{kwai} OS_PRO_BIT/64 AZPREFIX/zw ICFO/0 "
            f"StatusHT/29 TitleHT/44 NetType/{net} ISLP/0 ISDM/0 locale/zh-cn CT/0",
        )
    if app == "wechat":
        version, code = rng.choice(WECHAT_VERSIONS)
        if platform == "ios":
            return _ios_ua(rng, f"MicroMessenger/{version}({code}) NetType/{net} Language/zh_CN")
        return _android_ua(
            rng,
            f"XWEB/1110099 MMWEBSDK/20230805 MMWEBID/4312 MicroMessenger/{version}.2460({code}) "
            f"WeChat/arm64 Weixin NetType/{net} Language/zh_CN ABI/arm64",
        )
    if platform == "ios":  # mobile Safari
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {rng.choice(IOS_VERSIONS)} like Mac OS X) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
        )
    if platform == "android":
        if rng.random() < 0.4:
            return (
                "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) "
                "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 "
                "HuaweiBrowser/14.0.5.302 Mobile Safari/537.36"
            )
        version, model, _ = rng.choice(ANDROIDS)
        return (
            f"Mozilla/5.0 (Linux; Android {version}; {model}) AppleWebKit/537.36 "
            f"(KHTML, like Gecko) Chrome/{rng.choice(CHROMES)} Mobile Safari/537.36"
        )
    return rng.choice(DESKTOP_USER_AGENTS)


DESKTOP_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/70.0.3538.25 Safari/537.36 Core/1.70.3870.400 QQBrowser/10.8.4405.400",
)

# Where a channel's audience opens a link from, and on what.
CONTEXT_MIX = {
    "weibo": {
        "weibo/ios": 0.30, "weibo/android": 0.32, "wechat/ios": 0.05, "wechat/android": 0.05,
        "browser/ios": 0.04, "browser/android": 0.06, "browser/desktop": 0.18,
    },
    "douyin": {
        "douyin/ios": 0.36, "douyin/android": 0.44, "wechat/ios": 0.05, "wechat/android": 0.06,
        "browser/ios": 0.02, "browser/android": 0.03, "browser/desktop": 0.04,
    },
    "kuaishou": {
        "kuaishou/ios": 0.25, "kuaishou/android": 0.55, "wechat/ios": 0.04,
        "wechat/android": 0.08, "browser/ios": 0.02, "browser/android": 0.03,
        "browser/desktop": 0.03,
    },
}  # fmt: skip
REFERRERS = {
    "weibo": "https://m.weibo.cn/",
    "douyin": "https://www.douyin.com/",
    "kuaishou": "https://www.kuaishou.com/",
    "wechat": "https://servicewechat.com/",
}

CRAWLER_USER_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.155 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "Mozilla/5.0 (compatible; YisouSpider; +http://www.yisou.com)",
    "Mozilla/5.0 (compatible; 360Spider; +http://webscan.360.cn)",
)
PREVIEW_USER_AGENTS = (
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
)


@dataclass(frozen=True)
class BotRequest:
    kind: str  # "crawler" | "preview" | "head" | "prefetch"
    method: str
    user_agent: str
    headers: tuple[tuple[str, str], ...] = ()


def bot_request(rng: random.Random) -> BotRequest:
    draw = rng.random()
    if draw < 0.45:
        return BotRequest("crawler", "GET", rng.choice(CRAWLER_USER_AGENTS))
    if draw < 0.8:
        return BotRequest("preview", "GET", rng.choice(PREVIEW_USER_AGENTS))
    if draw < 0.9:  # a link checker: HEAD with a browser's user agent
        context = rng.choice(("browser/desktop", "browser/desktop", "browser/ios"))
        return BotRequest("head", "HEAD", human_user_agent(rng, context))
    header = ("Sec-Purpose", "prefetch") if rng.random() < 0.7 else ("Purpose", "prefetch")
    context = rng.choice(("browser/desktop", "browser/android"))
    return BotRequest("prefetch", "GET", human_user_agent(rng, context), (header,))
