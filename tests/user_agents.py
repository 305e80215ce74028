"""Real user agents of in-app browsers, each with where it was published.

Shared by the recognition tests (``test_in_app``) and the landing tests
(``test_landing``). Sources, at the commit read:

- DD: matomo-org/device-detector @ 3856a28, its test fixtures (``Tests/...``);
- UAP: ua-parser/uap-core @ e3c5e63, ``tests/test_ua.yaml``;
- UAPJS: faisalman/ua-parser-js @ 18d39b5, ``test/data/ua/browser/browser-all.json``;
- BROWSCAP: browscap/browscap @ 6c0c920, ``tests/issues/issue-1423.php``;
- github.com/foroco/php-browser-detection/pull/16 (its sample user agent).

Xiaohongshu is in none of the user-agent databases above; its two strings come
from public projects' unit tests found through the code index (which does not
name their repositories), the only published ones found. They carry the tokens
the app is known by (``xhsdiscover``, ``XiaoHongShu``).
"""

from __future__ import annotations

# (app, platform) -> user agent; the comment above each names its source.
IN_APP: dict[tuple[str, str], str] = {
    # UAP tests/test_ua.yaml:346
    ("weibo", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko)  Mobile/15E148 Weibo (iPhone17,1__weibo__15.4.1__iphone__os18.5)"
    ),
    # UAP tests/test_ua.yaml:352
    ("weibo", "android"): (
        "Mozilla/5.0 (Linux; Android 12; BRT-W09 Build/HONORBRT-W09; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/92.0.4515.105 Mobile Safari/537.36 "
        "Weibo (HONOR-BRT-W09__weibo__15.4.2__android__android12)"
    ),
    # github.com/foroco/php-browser-detection/pull/16
    ("wechat", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.22(0x18001626) NetType/WIFI "
        "Language/zh_CN"
    ),
    # DD Tests/fixtures/smartphone-39.yml:3913
    ("wechat", "android"): (
        "Mozilla/5.0 (Linux; Android 13; PHF110 Build/RKQ1.211119.001; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160117 "
        "MMWEBSDK/20231202 MMWEBID/4213 MicroMessenger/8.0.46.2540(0x28002E3C) WeChat/arm64 "
        "Weixin NetType/5G Language/zh_CN ABI/arm64"
    ),
    # DD Tests/fixtures/phablet-1.yml:3469
    ("qq", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 QQ/9.0.17.638 V1_IPH_SQ_9.0.17_1_APP_A Pixel/1179 "
        "MiniAppEnable SimpleUISwitch/1 StudyMode/0 CurrentMode/1 CurrentFontScale/1.000000 "
        "QQTheme/2971 AppId/537203242 Core/WKWebView Device/Apple(iPhone X) NetType/WIFI "
        "QBWebViewType/1 WKType/1"
    ),
    # DD Tests/fixtures/smartphone-16.yml:4939 (QQ on the X5 kernel: MQQBrowser/6.2 TBS too)
    ("qq", "android"): (
        "Mozilla/5.0 (Linux; Android 8.0; MIX 2S Build/OPR1.170623.032; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/57.0.2987.132 MQQBrowser/6.2 TBS/044113 "
        "Mobile Safari/537.36 V1_AND_SQ_7.7.0_882_YYB_D PA QQ/7.7.0.3640 NetType/4G "
        "WebP/0.3.0 Pixel/1080"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:2391
    ("wecom", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 wxwork/4.1.39 MicroMessenger/7.0.1 Language/zh "
        "ColorScheme/Light wwmver/3.26.38.377"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:2223
    ("douyin", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 aweme_31.9.0 Region/CN AppTheme/light NetType/WIFI "
        "JsSdk/2.0 Channel/App ByteLocale/zh ByteFullLocale/zh-Hans-CN WKWebView/1 Bullet/1 "
        "aweme/31.9.0 BulletTag/C4F7B8CE-DCC0-492D-934F-923A3909D158 BytedanceWebview/d8a21c6 "
        "FalconTag/D8105CFD-2385-4C85-AB6C-7A3DF31B9ACE"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:2229
    ("douyin", "android"): (
        "Mozilla/5.0 (Linux; Android 10; HD1900 Build/QKQ1.190716.003; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/75.0.3770.156 Mobile Safari/537.36 "
        "aweme_230400 JsSdk/1.0 NetType/WIFI AppName/aweme app_version/23.4.0 "
        "ByteLocale/zh-CN Region/CN AppSkin/white AppTheme/light BytedanceWebview/d8a21c6 "
        "WebView/075113004008"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:147 (the app's own requests)
    ("toutiao", "android"): (
        "Dalvik/2.1.0 (Linux; U; Android 6.0.1; MI 4LTE MIUI/V7.3.2.0.MXDCNDD) NewsArticle/5.1.3"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:2247 (Kuaishou on an iPad)
    ("kuaishou", "ios"): (
        "Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 Kwai/12.9.10.8962 ISLP/0 StatusHT/24 KDT/PAD ISDM/1 TitleHT/44 "
        "NetType/WIFI ICFO/0 locale/zh-Hans CT/0 Yoda/3.0.3.1 ISLB/0 CoIS/0 ISLM/0 "
        "WebViewType/WK BHT/50 AZPREFIX/az2"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:2241 (Kwai, Kuaishou abroad)
    ("kuaishou", "android"): (
        "Mozilla/5.0 (Linux; Android 11; SM-A107M Build/RP1A.200720.012; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/129.0.6668.100 Mobile Safari/537.36 "
        "Yoda/oversea-3.1.1-rc6-cache ISDR/0 Kwai_Pro/10.9.10.537204 NetScore/53 NST/F "
        "deviceScore/16 webviewPreloaded/false WebViewPreAlloc/1 StatusHT/32 TitleHT/50 "
        "NetType/WIFI ISLP/1 ISDM/0 ISLB/0 locale/pt-br evaSupported/false kwaiPixelAd"
    ),
    # BROWSCAP tests/issues/issue-1423.php:22406
    ("alipay", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 10_2_1 like Mac OS X) AppleWebKit/602.4.6 "
        "(KHTML, like Gecko) Mobile/14D27 ChannelId(11) Nebula PSDType(1) "
        "AlipayDefined(nt:WIFI,ws:375|647|2.0) AliApp(AP/10.0.3.020920) "
        "AlipayClient/10.0.3.020920 Alipay Language/zh-Hans"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:1521
    ("alipay", "android"): (
        "Mozilla/5.0 (Linux; U; Android 12; zh-CN; KB2000 Build/RKQ1.211119.001) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 "
        "UWS/3.22.2.43 Mobile Safari/537.36 UCBS/3.22.2.43_220223200704 NebulaSDK/1.8.100112 "
        "Nebula AlipayDefined(nt:WIFI,ws:360|0|3.0) AliApp(AP/10.3.0.8000) "
        "AlipayClient/10.3.0.8000 Language/zh-Hans useStatusBar/true isConcaveScreen/true "
        "Region/CNAriver/1.0.0"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:15 (DingTalk on an iPad)
    ("dingtalk", "ios"): (
        "Mozilla/5.0 (iPad; CPU OS 11_2_6 like Mac OS X) AppleWebKit/604.5.6 "
        "(KHTML, like Gecko) Mobile/15D100 AliApp(DingTalk/5.1.12) com.laiwang.DingTalk/13441885 "
        "Channel/201200 Pad/iPad language/zh-Hans-CN UT4Aplus/0.0.6 WK"
    ),
    # DD Tests/fixtures/tablet-9.yml:1815 (DingTalk on an Android tablet)
    ("dingtalk", "android"): (
        "Mozilla/5.0 (Linux; U; Android 7.1.1; zh-CN; Readboy_G550A Build/NMF26F) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 "
        "UWS/3.22.1.233 Mobile Safari/537.36 AliApp(DingTalk/6.5.57.23) "
        "com.alibaba.android.rimet/27727534 Channel/10002068 language/zh-CN abi/64 Pad/APad "
        "colorScheme/light"
    ),
    # A public project's unit test (see the module's docstring)
    ("xiaohongshu", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 discover/8.45.1 (iPhone; iOS 17.5; Scale/3.00) "
        "Resolution/1170*2532 xhsdiscover NetType/WiFi"
    ),
    # A public project's unit test (see the module's docstring)
    ("xiaohongshu", "android"): (
        "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 Mobile Safari/537.36 XiaoHongShu/8.92"
    ),
    # UAPJS, "baidu app on iOS"
    ("baidu", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 12_1_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/16C101 main%2F1.0 baiduboxapp/11.12.0.18 (Baidu; P2 12.1.2)"
    ),
    # UAPJS, "baidu app on Android"
    ("baidu", "android"): (
        "Mozilla/5.0 (Linux; Android 8.1.0; BKK-AL10 Build/HONORBKK-AL10; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/63.0.3239.83 Mobile Safari/537.36 T7/11.11 "
        "baiduboxapp/11.11.0.0 (Baidu; P1 8.1.0)"
    ),
    # DD Tests/Parser/Client/fixtures/mobile_app.yml:1791
    ("feishu", "ios"): (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.3.1 Mobile/15E148 Safari/604.1 Lark/5.29.6 "
        "LarkLocale/en_US ChannelName/Lark "
        "LKBrowserIdentifier/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
    ),
}

# Browsers that carry another app's token, or none, and what they are.
# DD Tests/Parser/fixtures/oss.yml:6073: WeChat on a HarmonyOS phone.
WECHAT_HARMONYOS = (
    "Mozilla/5.0 (Phone; OpenHarmony 5.1) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile MicroMessenger/8.0.9.39(0xf3100927) "
    "Weixin NetType/WIFI Language/zh_CN MMWEBID/2777 MMWEBSDK/202507060011 XWEB/1140307"
)
# UAP tests/test_ua.yaml:9626: WeChat for Windows (a desktop).
WECHAT_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) "
    "WindowsWechat(0x63090c33) XWEB/14315"
)
# DD Tests/fixtures/smartphone-12.yml:988: an old WeChat for Android that also says QQ/.
WECHAT_WITH_QQ_TOKEN = (
    "Mozilla/5.0 (Linux; U; Android 4.4.2; zh-cn; SM701 Build/SANFRANCISCO) AppleWebKit/533.1 "
    "(KHTML, like Gecko)Version/4.0 MQQBrowser/5.4 TBS/025469 Mobile Safari/533.1 "
    "MicroMessenger/6.2.5.49_r7ead8bf.620 NetType/WIFI Language/zh_CN QQ/6.6.0.2935"
)
# DD Tests/Parser/Client/fixtures/mobile_app.yml:2109: TIM, Tencent's office QQ.
TIM_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/14G60 QQ/103.3 TIM/3.3.5.545 V1_IPH_SQ_8.4.8_335_TIM_D "
    "Pixel/750 MiniAppEnable SimpleUISwitch/1 QQTheme/1015712 Core/WKWebView "
    "Device/Apple(iPhone 6) NetType/4G QBWebViewType/1 WKType/1"
)
# DD Tests/fixtures/smartphone-42.yml:5711: QQ Browser, a full browser (not QQ).
QQ_BROWSER_ANDROID = (
    "Mozilla/5.0 (Linux; U; Android 15; zh-cn; MTN-AN00 Build/HONORMTN-AN00) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.71 "
    "MQQBrowser/19.5 Mobile Safari/537.36"
)
# DD Tests/fixtures/smartphone-2.yml:581: QQ Browser on an iPhone.
QQ_BROWSER_IOS = (
    "Mozilla/5.0 (iPhone 4; CPU iPhone OS 7_0_4 like Mac OS X) AppleWebKit/537.51.1 "
    "(KHTML, like Gecko) Version/6.0 MQQBrowser/5.0.5 Mobile/11B554a Safari/8536.25"
)
# DD Tests/Parser/Client/fixtures/mobile_app.yml:2067: TikTok (ByteDance's WebView).
TIKTOK_ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; moto g(7) Build/QP6_S30.52-23-13-4; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.128 "
    "Mobile Safari/537.36 musical_ly_2022704050 JsSdk/1.0 NetType/WIFI Channel/googleplay "
    "AppName/musical_ly app_version/27.4.5 ByteLocale/en ByteFullLocale/en Region/US "
    "Spark/1.2.4-alpha.5 AppVersion/27.4.5 PIA/1.5.10 BytedanceWebview/d8a21c6"
)
# DD Tests/Parser/Client/fixtures/mobile_app.yml:2385: WeCom for Windows.
WECOM_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.6668.101 Safari/537.36 Language/zh ColorScheme/Light wxwork/4.1.39 "
    "(MicroMessenger/6.2) WindowsWechat MailPlugin_Electron WeMail embeddisk "
    "wwmver/3.26.39.639 noMediaCs/false"
)
