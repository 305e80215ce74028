"""Landing rules: what a click from a phone does, by the in-app browser it was
made in, the phone's platform and, where it differs, the product's storefront.

Some in-app browsers refuse to open a storefront's app, or even its web pages
(WeChat and QQ block Taobao's links and its ``taobao://`` scheme). Each
(in-app browser, platform) pair maps to one action:

- ``app``: 302 to the product's app deep link (its web URL when it has none),
  the default for phones;
- ``web``: 302 to the web URL;
- ``landing``: a page (``console.landing``) that shows the product, its share
  code and how to open the page in the phone's browser, with links straight to
  the destination.

The table (``config/landing.toml``, or the file ``REDIRECTOR_LANDING`` names)
has a ``[default]`` row (a phone's own browser, or an app the table does not
name), an ``[apps]`` table of rows per app (``in_app.APPS``), and per
storefront an ``[storefronts.<id>]`` table holding ``default`` and ``apps``
rows of its own, naming only what differs. A row names any of the platforms
``ios``, ``android`` and ``harmonyos``. A click takes the first of these rows
that names its platform: the storefront's row for its app, the table's row for
its app, the storefront's default, the table's default; a HarmonyOS phone
reads each row's ``android`` when the row has no ``harmonyos``. No row: ``app``.

Never by the table: bots (and ``HEAD``) go to the web URL; so do desktops and
any other platform, which cannot open an app link. Pure: no Flask, no Redis;
each (app, platform) pair's ``Route`` is worked out once, at start.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, get_args

from .errors import ConfigError
from .in_app import APPS

__all__ = [
    "ACTIONS",
    "ENVIRON_KEY",
    "PHONE_PLATFORMS",
    "WEB",
    "Action",
    "LandingRules",
    "LandingVisit",
    "Route",
    "load_landing_rules",
]

Action = Literal["app", "web", "landing"]
ACTIONS: tuple[Action, ...] = get_args(Action)
PHONE_PLATFORMS = ("ios", "android", "harmonyos")
# Where the redirect leaves a ``LandingVisit`` for the page it hands a landing to.
ENVIRON_KEY = "redirector.landing"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NO_OVERRIDES: Mapping[str, Action] = MappingProxyType({})

Row = Mapping[str, Action]  # platform -> action


class Route(NamedTuple):
    """What clicks of one (app, platform) pair do: ``action``, except at the
    storefronts ``storefronts`` names. A NamedTuple: read on every click."""

    action: Action
    storefronts: Mapping[str, Action] = _NO_OVERRIDES

    def at(self, storefront_id: str) -> Action:
        """The action for a product of this storefront."""
        return self.storefronts.get(storefront_id, self.action) if self.storefronts else self.action


WEB = Route("web")  # bots, desktops, anything that cannot open an app


@dataclass(frozen=True)
class Rows:
    """One level of the table: its default row and its rows per app."""

    default: Row = field(default_factory=dict)
    apps: Mapping[str, Row] = field(default_factory=dict)


@dataclass(frozen=True)
class LandingRules:
    """The table as read, and each (app, platform) pair's ``Route`` worked out."""

    table: Rows = field(default_factory=Rows)
    storefronts: Mapping[str, Rows] = field(default_factory=dict)
    routes: Mapping[tuple[str | None, str], Route] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        routes = {
            (app, platform): self._route(app, platform)
            for app in (None, *APPS)
            for platform in PHONE_PLATFORMS
        }
        object.__setattr__(self, "routes", MappingProxyType(routes))

    def route(self, app: str | None, platform: str) -> Route:
        """The route of a human click from ``platform`` in ``app`` (None: no app)."""
        return self.routes.get((app, platform), WEB)

    def action(self, app: str | None, platform: str, storefront_id: str) -> Action:
        """The rule, stated once: the first row that names the platform."""
        shop = self.storefronts.get(storefront_id)
        levels = (shop, self.table) if shop is not None else (self.table,)
        specific = [level.apps.get(app, {}) for level in levels] if app else []
        for row in [*specific, *(level.default for level in levels)]:
            if platform in row:
                return row[platform]
            if platform == "harmonyos" and "android" in row:
                return row["android"]
        return "app"

    def _route(self, app: str | None, platform: str) -> Route:
        action = self.action(app, platform, "")
        differ = {
            storefront_id: self.action(app, platform, storefront_id)
            for storefront_id in self.storefronts
        }
        overrides = {s: a for s, a in differ.items() if a != action}
        return Route(action, MappingProxyType(overrides) if overrides else _NO_OVERRIDES)


class LandingVisit(NamedTuple):
    """What the redirect hands the landing page: the click it recorded, and
    where the page's links go (each URL carries the click id already)."""

    link_id: str
    product_id: str  # "" if the store did not say (a click answered in an outage)
    click_id: str
    app: str | None  # the in-app browser the click was made in
    platform: str  # "ios", "android" or "harmonyos"
    open_url: str  # the page's button: the app deep link, else the web URL
    web_url: str
    set_cookie: str | None  # a ``Set-Cookie`` value for a new device


# -- reading the file ----------------------------------------------------------------


def load_landing_rules(path: Path | None, setting: str = "REDIRECTOR_LANDING") -> LandingRules:
    """Read the table from a TOML file (None: every phone to ``app``); any
    mistake is a ``ConfigError`` naming the setting, the file and the entry."""
    if path is None:
        return LandingRules()
    where = f"{setting}={path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from exc
    storefronts = _table(data.pop("storefronts", {}), f"{where}: storefronts")
    table = _rows(data, where, "")
    shops = {}
    for storefront_id, raw in storefronts.items():
        if not _SLUG.match(storefront_id):
            raise ConfigError(f"{where}: storefronts.{storefront_id} is not a storefront id")
        shops[storefront_id] = _rows(
            _table(raw, f"{where}: storefronts.{storefront_id}"),
            where,
            f"storefronts.{storefront_id}.",
        )
    return LandingRules(table, shops)


def _rows(data: dict[str, Any], where: str, prefix: str) -> Rows:
    unknown = set(data) - {"default", "apps"}
    if unknown:
        raise ConfigError(f"{where}: unknown table [{prefix}{sorted(unknown)[0]}]")
    apps = _table(data.get("apps", {}), f"{where}: {prefix}apps")
    for app in apps:
        if app not in APPS:
            raise ConfigError(
                f"{where}: {prefix}apps.{app} is not an in-app browser this service "
                f"recognises ({', '.join(APPS)})"
            )
    return Rows(
        default=_row(data.get("default", {}), f"{where}: {prefix}default"),
        apps={app: _row(raw, f"{where}: {prefix}apps.{app}") for app, raw in apps.items()},
    )


def _row(raw: Any, where: str) -> Row:
    row = _table(raw, where)
    for platform, action in row.items():
        if platform not in PHONE_PLATFORMS:
            raise ConfigError(f"{where}.{platform}: platforms are {', '.join(PHONE_PLATFORMS)}")
        if action not in ACTIONS:
            raise ConfigError(f"{where}.{platform} = {action!r}: actions are {', '.join(ACTIONS)}")
    return row


def _table(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    return raw
