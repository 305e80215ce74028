"""Which in-app browser a click comes from (``in_app``), on real user agents
(``tests/user_agents.py`` names where each was published), with the platform
the landing rules read beside it (``bots.classify_user_agent``)."""

from __future__ import annotations

import pytest

from redirector import in_app
from redirector.bots import classify_user_agent
from redirector.console import i18n
from tests.user_agents import (
    IN_APP,
    QQ_BROWSER_ANDROID,
    QQ_BROWSER_IOS,
    TIKTOK_ANDROID,
    TIM_IOS,
    WECHAT_HARMONYOS,
    WECHAT_WINDOWS,
    WECHAT_WITH_QQ_TOKEN,
    WECOM_WINDOWS,
)


@pytest.mark.parametrize(
    ("app", "platform", "user_agent"),
    [
        pytest.param(app, platform, ua, id=f"{app}-{platform}")
        for (app, platform), ua in IN_APP.items()
    ],
)
def test_each_app_is_recognised_on_its_platform(app: str, platform: str, user_agent: str) -> None:
    got = classify_user_agent(user_agent)

    assert (got.app, got.platform, got.bot) == (app, platform, None)


def test_every_app_of_the_table_has_a_real_user_agent_on_a_phone() -> None:
    assert {app for app, _ in IN_APP} == set(in_app.APPS)


@pytest.mark.parametrize(
    ("user_agent", "app", "platform"),
    [
        # QQ Browser is a full browser, not QQ: only QQ's own token names QQ.
        pytest.param(QQ_BROWSER_ANDROID, None, "android", id="qq-browser-android-is-no-app"),
        pytest.param(QQ_BROWSER_IOS, None, "ios", id="qq-browser-ios-is-no-app"),
        pytest.param(TIM_IOS, "qq", "ios", id="tim-shares-qq-browser"),
        # WeChat first: an old WeChat for Android also carried QQ/.
        pytest.param(WECHAT_WITH_QQ_TOKEN, "wechat", "android", id="wechat-before-qq"),
        # WeCom first: its user agent says MicroMessenger too.
        pytest.param(WECOM_WINDOWS, "wecom", "desktop", id="wecom-before-wechat"),
        pytest.param(WECHAT_HARMONYOS, "wechat", "harmonyos", id="wechat-on-harmonyos"),
        pytest.param(WECHAT_WINDOWS, "wechat", "desktop", id="wechat-on-windows"),
        # TikTok's WebView says BytedanceWebview, as Douyin's does.
        pytest.param(TIKTOK_ANDROID, None, "android", id="tiktok-is-not-douyin"),
    ],
)
def test_tokens_shared_between_apps_go_to_the_right_one(
    user_agent: str, app: str | None, platform: str
) -> None:
    got = classify_user_agent(user_agent)

    assert (got.app, got.platform, got.bot) == (app, platform, None)


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "",
    ],
    ids=["ios-safari", "desktop-chrome", "empty"],
)
def test_a_plain_browser_is_no_app(user_agent: str) -> None:
    assert in_app.app_of(user_agent) is None


def test_every_app_has_a_name_in_both_languages() -> None:
    # The landing page names the app the buyer is in.
    for app in in_app.APPS:
        assert f"app.{app}" in i18n.MESSAGES, app
