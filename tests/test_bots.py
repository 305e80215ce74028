"""Tests for redirector.bots: user-agent classification and prefetch detection."""

from __future__ import annotations

import functools
import re

import crawleruseragents
import pytest
from hypothesis import given
from hypothesis import strategies as st

from redirector import bots
from redirector.bots import UserAgentClass, classify_user_agent, is_prefetch

PLATFORMS = {"ios", "android", "harmonyos", "desktop", "other"}
APPS = {None, "weibo", "douyin", "kuaishou", "wechat"}
BOTS = {None, "crawler", "preview"}

# (name, user agent, (platform, app, bot)). Real strings, as sent by the apps.
CASES: list[tuple[str, str | None, tuple[str, str | None, str | None]]] = [
    # Browsers
    (
        "ios_safari",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        ("ios", None, None),
    ),
    (
        "ipad_safari",
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        ("ios", None, None),
    ),
    (
        "android_chrome",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
        ("android", None, None),
    ),
    (
        "android_firefox",
        "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
        ("android", None, None),
    ),
    (
        "desktop_chrome_windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        ("desktop", None, None),
    ),
    (
        "desktop_firefox_linux",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ("desktop", None, None),
    ),
    (
        "desktop_safari_mac",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        ("desktop", None, None),
    ),
    (
        "desktop_edge",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
        ("desktop", None, None),
    ),
    (
        "chromeos",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        ("desktop", None, None),
    ),
    (
        "fedora_firefox_via_ua_parser",
        "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ("desktop", None, None),
    ),
    (
        "windows_phone_claims_android",
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 "
        "Edge/15.14977",
        ("other", None, None),
    ),
    (
        "kaios_claims_android",
        "Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) "
        "Gecko/48.0 Firefox/48.0 KAIOS/2.5",
        ("other", None, None),
    ),
    (
        "playstation",
        "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/13.0 Safari/605.1.15",
        ("other", None, None),
    ),
    # HarmonyOS
    (
        "harmonyos_next_phone",
        "Mozilla/5.0 (Phone; OpenHarmony 4.1) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile HuaweiBrowser/5.0.4.300",
        ("harmonyos", None, None),
    ),
    (
        "harmonyos_android_compatible",
        "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.196 "
        "HuaweiBrowser/15.0.4.312 Mobile Safari/537.36",
        ("harmonyos", None, None),
    ),
    (
        "harmonyos_tablet",
        "Mozilla/5.0 (Tablet; OpenHarmony 5.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 HuaweiBrowser/5.0.8.300",
        ("harmonyos", None, None),
    ),
    (
        "harmonyos_pc",
        "Mozilla/5.0 (PC; OpenHarmony 6.1; Windows NT 10.0) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36 ArkWeb/6.1.0.115 "
        "HuaweiBrowser/6.1.7.302",
        ("desktop", None, None),
    ),
    (
        "harmonyos_wechat",
        "Mozilla/5.0 (Phone; OpenHarmony 5.0; HarmonyOS 5.0) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile "
        "MicroMessenger/8.0.1.36(0x2800013C) NetType/WIFI Language/zh_CN",
        ("harmonyos", "wechat", None),
    ),
    # In-app browsers
    (
        "weibo_ios",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Weibo (iPhone14,2__weibo__13.8.1__iphone__os16.6)",
        ("ios", "weibo", None),
    ),
    (
        "weibo_android",
        "Mozilla/5.0 (Linux; Android 12; V2148A Build/SP1A.210812.003; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/87.0.4280.141 Mobile Safari/537.36 "
        "Weibo (vivo-V2148A__weibo__13.6.1__android__android12)",
        ("android", "weibo", None),
    ),
    (
        "douyin_ios",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 aweme_26.5.0 JsSdk/2.0 NetType/WIFI "
        "Channel/App Store ByteLocale/zh Region/CN AppTheme/light RevealType/Dialog "
        "WKWebView/1 BytedanceWebview/d8a21c6",
        ("ios", "douyin", None),
    ),
    (
        "douyin_android",
        "Mozilla/5.0 (Linux; Android 13; PHB110 Build/TP1A.220905.001; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/110.0.5481.153 Mobile Safari/537.36 "
        "aweme_260500 AppName/aweme app_version/26.5.0 ByteLocale/zh-CN Region/CN "
        "AppSkin/white AppTheme/light BytedanceWebview/d8a21c6 WebView/075113004008",
        ("android", "douyin", None),
    ),
    (
        "kuaishou_ios",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Kwai/11.0.20.6005 ISLP/0 StatusHT/47 KDT/PHONE "
        "iosSCH/0 TitleHT/44 NetType/WIFI ISDM/0 ICFO/0 locale/zh-Hans CT/0 Yoda/3.0.6.4 "
        "ISLB/0 CoIS/2 ISLM/0 WebViewType/WK BHT/102 AZPREFIX/az1",
        ("ios", "kuaishou", None),
    ),
    (
        "kuaishou_nebula_android",
        "Mozilla/5.0 (Linux; Android 14; 23113RKC6C Build/UKQ1.230804.001; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/90.0.4430.226 "
        "KsWebView/1.8.90.675 (rel) Mobile Safari/537.36 Yoda/3.1.7-alpha33-intercept1 "
        "ksNebula/12.5.20.8014 OS_PRO_BIT/64 MAX_PHY_MEM/15199 AZPREFIX/az4 ICFO/0 "
        "StatusHT/34 TitleHT/43 NetType/WIFI ISLP/0 ISDM/0 ISLB/0 locale/zh-cn CT/0 ISLM/0",
        ("android", "kuaishou", None),
    ),
    (
        "wechat_ios",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
        "Language/zh_CN",
        ("ios", "wechat", None),
    ),
    (
        "wechat_android",
        "Mozilla/5.0 (Linux; Android 13; 22081212C Build/TKQ1.220829.002; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 "
        "Mobile Safari/537.36 XWEB/1110017 MMWEBSDK/20230805 MMWEBID/2833 "
        "MicroMessenger/8.0.42.2460(0x28002A35) WeChat/arm64 Weixin NetType/WIFI "
        "Language/zh_CN ABI/arm64",
        ("android", "wechat", None),
    ),
    (
        "wechat_windows",
        "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) "
        "WindowsWechat(0x63090a13) XWEB/8555 Flue",
        ("desktop", "wechat", None),
    ),
    (
        "tiktok_is_not_douyin",
        "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/125.0.0.0 Mobile Safari/537.36 trill_340002 "
        "JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/34.0.2 "
        "ByteLocale/en ByteFullLocale/en Region/US BytedanceWebview/d8a21c6",
        ("android", None, None),
    ),
    # In-app browsers that patterns in the crawler list used to catch
    (
        "facebook_metaiab",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/22G100 Safari/604.1 MetaIAB Facebook",
        ("ios", None, None),
    ),
    (
        "viber_android_in_app",
        "Mozilla/5.0 (Linux; Android 9; SM-G955U Build/PPR1.180610.011; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/79.0.3945.93 Mobile Safari/537.36 "
        "Viber/12.1.0.11",
        ("android", None, None),
    ),
    (
        "sogou_mobile_browser",
        "Mozilla/5.0 (Linux; Android 10; VOG-AL10 Build/HUAWEIVOG-AL10; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/88.0.4324.93 Mobile Safari/537.36 "
        "SogouMSE,SogouMobileBrowser/5.28.12",
        ("android", None, None),
    ),
    (
        "line_in_app",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Safari Line/13.16.0",
        ("ios", None, None),
    ),
    (
        "zalo_in_app",
        "Mozilla/5.0 (Linux; Android 14; SM-A546E Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/124.0.0.0 Mobile Safari/537.36 "
        "Zalo android/12100656 ZaloTheme/light ZaloLanguage/vi",
        ("android", None, None),
    ),
    # Crawlers
    (
        "googlebot",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ("other", None, "crawler"),
    ),
    (
        "googlebot_smartphone",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ("android", None, "crawler"),
    ),
    (
        "bingbot",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        ("other", None, "crawler"),
    ),
    (
        "baiduspider",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        ("other", None, "crawler"),
    ),
    (
        "yisouspider",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/69.0.3497.81 YisouSpider/5.0 Safari/537.36",
        ("desktop", None, "crawler"),
    ),
    (
        "sogou_spider",
        "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
        ("other", None, "crawler"),
    ),
    (
        "bytespider",
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
        ("android", None, "crawler"),
    ),
    (
        "petalbot",
        "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
        ("android", None, "crawler"),
    ),
    ("curl", "curl/8.5.0", ("other", None, "crawler")),
    ("python_requests", "python-requests/2.31.0", ("other", None, "crawler")),
    ("empty", "", ("other", None, "crawler")),
    ("blank", "   ", ("other", None, "crawler")),
    ("missing", None, ("other", None, "crawler")),
    # Link previews
    (
        "slackbot_link_expanding",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        ("other", None, "preview"),
    ),
    (
        "slack_imgproxy",
        "Slack-ImgProxy (+https://api.slack.com/robots)",
        ("other", None, "preview"),
    ),
    ("telegrambot", "TelegramBot (like TwitterBot)", ("other", None, "preview")),
    ("whatsapp", "WhatsApp/2.23.20.0 A", ("other", None, "preview")),
    ("twitterbot", "Twitterbot/1.0", ("other", None, "preview")),
    (
        "facebookexternalhit",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        ("other", None, "preview"),
    ),
    (
        "imessage",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) "
        "Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        ("desktop", None, "preview"),
    ),
    ("line_preview", "facebookexternalhit/1.1;line-poker/1.0", ("other", None, "preview")),
    (
        "discordbot",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        ("other", None, "preview"),
    ),
    (
        "linkedinbot",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        ("other", None, "preview"),
    ),
    ("viber_preview", "Viber/12.0.0.1 CFNetwork/1107.1 Darwin/19.0.0", ("ios", None, "preview")),
    (
        "bluesky_cardyb",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Bluesky Cardyb/1.1; "
        "+mailto:support@bsky.app) Chrome/126.0.0.0 Safari/537.36",
        ("other", None, "preview"),
    ),
    (
        "mastodon",
        "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)",
        ("other", None, "preview"),
    ),
    (
        "snapchat_preview",
        "Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots",
        ("other", None, "preview"),
    ),
]


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [pytest.param(ua, expected, id=name) for name, ua, expected in CASES],
)
def test_classify_user_agent(
    user_agent: str | None, expected: tuple[str, str | None, str | None]
) -> None:
    got = classify_user_agent(user_agent)
    assert (got.platform, got.app, got.bot) == expected


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_labels() -> None:
    assert UserAgentClass("ios", None, None).label == "ios"
    assert UserAgentClass("android", "weibo", None).label == "android/weibo"
    assert UserAgentClass("desktop", None, None).label == "desktop"
    assert UserAgentClass("ios", "wechat", "preview").label == "bot/preview"
    assert UserAgentClass("other", None, "crawler").label == "bot/crawler"


def test_mobile() -> None:
    assert UserAgentClass("ios", None, None).mobile
    assert UserAgentClass("android", "douyin", None).mobile
    assert UserAgentClass("harmonyos", None, None).mobile
    assert not UserAgentClass("desktop", "wechat", None).mobile
    assert not UserAgentClass("other", None, "crawler").mobile


def test_classification_is_memoised() -> None:
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0 memo-test"
    assert classify_user_agent(ua) is classify_user_agent(ua)


def test_result_is_immutable() -> None:
    got = classify_user_agent("curl/8.5.0")
    with pytest.raises(AttributeError):
        got.bot = None  # type: ignore[misc]


def test_in_app_browsers_are_not_crawlers() -> None:
    # The crawler list must not swallow the in-app browsers the product exists for.
    for name, ua, (_, app, bot) in CASES:
        if app is not None:
            assert bot is None, name
            assert not bots._CRAWLER_RE.search(ua or ""), name


@pytest.mark.parametrize(
    ("purpose", "sec_purpose", "expected"),
    [
        (None, None, False),
        ("", "", False),
        ("prefetch", None, True),
        (None, "prefetch", True),
        ("Prefetch", None, True),
        (None, "PREFETCH", True),
        (None, "prefetch;prerender", True),
        (None, "prefetch;anonymous-client-ip", True),
        (" prefetch ", None, True),
        ("preview, prefetch", None, True),
        ("prerender", None, False),
        (None, "prerender", False),
        ("preview", None, False),
        ("prefetcher", None, False),
        (None, "prerender;prefetch", False),
    ],
)
def test_is_prefetch(purpose: str | None, sec_purpose: str | None, expected: bool) -> None:
    assert is_prefetch(purpose, sec_purpose) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # Navigations: a person asked for the page (or the headers cannot say).
        ({}, None),
        ({"HTTP_SEC_FETCH_DEST": "document"}, None),
        ({"HTTP_SEC_FETCH_DEST": ""}, None),
        ({"HTTP_SEC_FETCH_DEST": "document", "HTTP_PURPOSE": "preview"}, None),
        ({"HTTP_X_MOZ": "prefetcher"}, None),
        ({"HTTP_X_PURPOSE": "instant"}, None),
        # Requests a page makes.
        ({"HTTP_SEC_FETCH_DEST": "image"}, "bot/image"),
        ({"HTTP_SEC_FETCH_DEST": "script"}, "bot/script"),
        ({"HTTP_SEC_FETCH_DEST": "iframe"}, "bot/iframe"),
        ({"HTTP_SEC_FETCH_DEST": "frame"}, "bot/frame"),
        ({"HTTP_SEC_FETCH_DEST": "worker"}, "bot/worker"),
        ({"HTTP_SEC_FETCH_DEST": "empty"}, "bot/fetch"),
        ({"HTTP_SEC_FETCH_DEST": "Document"}, "bot/subresource"),
        ({"HTTP_SEC_FETCH_DEST": "a|b"}, "bot/subresource"),  # never copied into a record
        # Prefetches and previews, navigations or not.
        ({"HTTP_SEC_FETCH_DEST": "document", "HTTP_SEC_PURPOSE": "prefetch"}, "bot/prefetch"),
        ({"HTTP_PURPOSE": "prefetch"}, "bot/prefetch"),
        ({"HTTP_X_MOZ": "prefetch"}, "bot/prefetch"),
        ({"HTTP_X_MOZ": " Prefetch "}, "bot/prefetch"),
        ({"HTTP_X_PURPOSE": "preview"}, "bot/preview"),
        ({"HTTP_X_PURPOSE": "Preview"}, "bot/preview"),
        ({"HTTP_SEC_FETCH_DEST": "document", "HTTP_X_PURPOSE": "preview"}, "bot/preview"),
    ],
)
def test_fetch_bot(headers: dict[str, str], expected: str | None) -> None:
    assert bots.fetch_bot(headers) == expected


def test_crawler_patterns_compiled() -> None:
    listed = [entry["pattern"] for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA]
    excepted = sum(1 for p in listed if p in bots._CRAWLER_PATTERN_EXCEPTIONS)
    extra = len(bots._EXTRA_CRAWLER_PATTERNS)
    skipped = bots.CRAWLER_PATTERNS_SKIPPED
    compiled = bots.CRAWLER_PATTERNS_COMPILED
    assert excepted <= len(bots._CRAWLER_PATTERN_EXCEPTIONS)
    assert skipped < 0.05 * len(listed)
    assert compiled >= len(listed) - skipped - excepted
    assert compiled == len(listed) - excepted + extra - skipped


def test_crawler_list_instances_are_bots() -> None:
    # Spot check: the examples shipped with the list are caught, bar the excepted patterns.
    missed = []
    for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA:
        if entry["pattern"] in bots._CRAWLER_PATTERN_EXCEPTIONS:
            continue
        for instance in entry.get("instances", [])[:2]:
            if instance.strip() and classify_user_agent(instance).bot is None:
                missed.append(instance)
    assert len(missed) <= 0.01 * len(crawleruseragents.CRAWLER_USER_AGENTS_DATA), missed[:20]


@functools.cache
def _flat_crawler_regex() -> re.Pattern[str]:
    # The plain "(?:p1)|(?:p2)|..." join that bots._CRAWLER_RE is an optimised form of.
    patterns = [
        entry["pattern"]
        for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA
        if entry["pattern"] not in bots._CRAWLER_PATTERN_EXCEPTIONS
    ] + list(bots._EXTRA_CRAWLER_PATTERNS)
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def test_grouped_crawler_regex_matches_like_flat_join() -> None:
    samples = [ua for _, ua, _ in CASES if ua] + [
        instance
        for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA
        for instance in entry.get("instances", [])
    ]
    flat = _flat_crawler_regex()
    for ua in samples:
        assert bool(bots._CRAWLER_RE.search(ua)) == bool(flat.search(ua)), ua


_INSTANCES = [
    instance
    for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA
    for instance in entry.get("instances", [])
    if instance
]


@given(
    st.one_of(
        st.text(max_size=200),
        st.tuples(st.text(max_size=20), st.sampled_from(_INSTANCES), st.text(max_size=20)).map(
            "".join
        ),
    )
)
def test_grouped_crawler_regex_matches_like_flat_join_on_any_text(text: str) -> None:
    assert bool(bots._CRAWLER_RE.search(text)) == bool(_flat_crawler_regex().search(text))


ALLOWED_LABELS = {f"bot/{b}" for b in BOTS if b} | {
    f"{p}/{a}" if a else p for p in PLATFORMS for a in APPS
}


def _from_label(label: str) -> tuple[str, str | None, str | None]:
    head, _, tail = label.partition("/")
    if head == "bot":
        return ("?", "?", tail)
    return (head, tail or None, None)


@given(st.one_of(st.none(), st.text(max_size=300)))
def test_classify_never_raises_and_stays_in_range(user_agent: str | None) -> None:
    got = classify_user_agent(user_agent)
    assert got.platform in PLATFORMS
    assert got.app in APPS
    assert got.bot in BOTS
    assert got.mobile == (got.platform in {"ios", "android", "harmonyos"})
    assert got.label in ALLOWED_LABELS
    platform, app, bot = _from_label(got.label)
    if bot is None:
        assert (platform, app) == (got.platform, got.app)
    else:
        assert bot == got.bot
    assert classify_user_agent(user_agent) == got


@given(
    st.sampled_from([ua for _, ua, _ in CASES if ua]),
    st.text(alphabet=st.characters(codec="ascii"), max_size=40),
)
def test_label_stable_under_unrelated_suffix(user_agent: str, noise: str) -> None:
    # Labels are stored with each click; junk appended by proxies must not make
    # them raise or leave the allowed set.
    got = classify_user_agent(f"{user_agent} {noise}")
    assert got.label in ALLOWED_LABELS


@given(st.sampled_from(sorted(ALLOWED_LABELS - {"bot/crawler", "bot/preview"})))
def test_label_round_trips(label: str) -> None:
    platform, app, _ = _from_label(label)
    assert UserAgentClass(platform, app, None).label == label
