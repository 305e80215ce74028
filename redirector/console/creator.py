"""Creator pages: own links with their stats, a form to make one, a page per
link with its QR code, own earnings.

A link made here is made exactly as ``POST /api/v1/links`` makes it: the same
validation model (``schemas.LinkBody``), the same rules, ``links.make_link``.
A link's QR code and raw clicks are answered by the API's own functions
(``api.links.qr_response``, ``clicks_csv``), under the console's session.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import flash, g, redirect, request, url_for
from pydantic import ValidationError

from .. import earnings, links, paging, qrcodes, quota, registry, series, settlement
from ..api import link_schemas, schemas
from ..api.links import clicks_csv, qr_response
from ..errors import RedirectorError
from ..extension import context
from ..periods import Period, period_of
from . import figures, i18n
from .auth import CREATOR, requires
from .views import bp, link_with_url, page

PERIODS_SHOWN = 6
CHART_DAYS = 30
# Unique clicks and money: a creator's own bot and suspicious clicks are not shown.
DAILY_FIELDS = ("clicks", "unique_clicks", *figures.MONEY_FIELDS)


def _t(key: str, **values: Any) -> str:
    return i18n.translate(key, g.lang, **values)


def _field(field: str) -> str:
    return _t(f"fig.{field}")


def _me() -> str:
    return g.viewer.creator_id


@bp.get("/console/me")
@requires(CREATOR)
def my_links() -> Any:
    svc = context()
    store, tz = svc.store, svc.settings.timezone
    mine = [link_with_url(x) for x in links.every_link(store, _me())]
    products = registry.list_products(store, active=True, by_title=True)
    titles = {p["id"]: p["title"] for p in registry.list_products(store)}
    today = svc.clock.now().astimezone(tz).date()
    dates = figures.last_days(today, CHART_DAYS)
    first = date.fromisoformat(dates[0])
    daily = figures.daily_totals(
        (series.link_series(store, x["id"], first, today) for x in mine), dates, DAILY_FIELDS
    )
    return page(
        "my_links.html",
        creator=registry.get_creator(store, _me()),
        links=mine,
        totals=figures.total_stats(mine),
        products=products,
        titles=titles,
        channels=sorted(svc.settings.programs),
        placements=links.PLACEMENTS,
        sub_id_names=links.SUB_ID_NAMES,
        clicks_chart=figures.clicks_chart(dates, daily, _field),
        money_chart=figures.money_chart(dates, daily, _field),
        new_link=request.args.get("new"),
        form=request.args,
    )


@bp.post("/console/me/links")
@requires(CREATOR)
def make_link() -> Any:
    raw = link_form()
    link_id = made_link(raw)
    if link_id is None:
        return redirect(url_for("console.my_links") + "?" + urlencode(raw))
    flash(_t("links.made"), "info")
    return redirect(url_for("console.my_links", new=link_id) + f"#link-{link_id}")


def link_form() -> dict[str, str]:
    """The link form's fields as given (an empty field is an absent one)."""
    return {
        name: value.strip()
        for name in ("product_id", "channel", "post_id", "placement", *links.SUB_ID_NAMES)
        if (value := request.form.get(name, "")) and value.strip()
    }


def made_link(raw: dict[str, str]) -> str | None:
    """Make the signed-in creator's link as ``POST /api/v1/links`` would; its id,
    or None with each refusal flashed."""
    svc = context()
    sub_ids = {name: raw[name] for name in links.SUB_ID_NAMES if name in raw}
    fields = {name: value for name, value in raw.items() if name not in sub_ids}
    try:
        body = schemas.LinkBody.model_validate(
            {**fields, **({"sub_ids": sub_ids} if sub_ids else {})}
        )
        return links.make_link(
            svc.store,
            _me(),
            body.new_link(),
            channels=list(svc.settings.programs),
            now_ms=svc.clock.now_ms(),
            limit=quota.rates(svc.settings.link_creation_limit),
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            # A sub-id is its own field on the form: "sub1", not "sub_ids.sub1".
            loc = error["loc"][1:] if error["loc"][:1] == ("sub_ids",) else error["loc"]
            field = ".".join(str(part) for part in loc) or "body"
            flash(f"{_t('field.' + field)}: {error['msg']}", "error")
    except RedirectorError as exc:
        flash(str(exc), "error")
    return None


@bp.post("/console/me/links/<link_id>/disable")
@requires(CREATOR)
def disable_link(link_id: str) -> Any:
    svc = context()
    links.disable_link(
        svc.store, links.known_link_id(link_id), creator_id=_me(), now_ms=svc.clock.now_ms()
    )
    flash(_t("links.disabled"), "info")
    return redirect(url_for("console.my_links"))


@bp.get("/console/me/earnings")
@requires(CREATOR)
def my_earnings() -> Any:
    svc = context()
    current = period_of(svc.clock.now(), svc.settings.timezone)
    mine = earnings.earnings_seen_by(svc, _me(), _me(), request.args.get("period"))
    # As on the statements: no months from before the deployment had data.
    first = settlement.first_period(svc.store)
    shown = figures.periods_since(first, current, PERIODS_SHOWN)
    history = [earnings.earnings(svc, _me(), p) for p in shown][::-1]
    menu = {Period.parse(mine["period"]), *figures.periods_since(first, current, 12)}
    agency_id = registry.get_creator(svc.store, _me())["agency_id"]
    return page(
        "my_earnings.html",
        # A line's account is the creator's own (independent) or an agency's:
        # the earnings lines name the account by id only.
        account_kind=lambda account_id: (
            "creator" if account_id == _me() and account_id != agency_id else "agency"
        ),
        earnings=mine,
        history=history,
        periods=[str(p) for p in sorted(menu, reverse=True)],
    )


def _my_link(link_id: str) -> dict[str, Any]:
    return links.get_link(context().store, links.known_link_id(link_id), creator_id=_me())


@bp.get("/console/me/links/<link_id>")
@requires(CREATOR)
def my_link(link_id: str) -> Any:
    """One link: its URL, its QR code to show and download, its sub-ids and stats."""
    svc = context()
    link = link_with_url(_my_link(link_id))
    today = svc.clock.now().astimezone(svc.settings.timezone).date()
    dates = figures.last_days(today, CHART_DAYS)
    days = series.link_series(svc.store, link_id, date.fromisoformat(dates[0]), today)
    daily = figures.daily_totals([days], dates, series.FIELDS)
    return page(
        "my_link.html",
        link=link,
        clicks_chart=figures.clicks_chart(dates, daily, _field),
        money_chart=figures.money_chart(dates, daily, _field),
        product=registry.get_product(svc.store, link["product_id"]),
        retention_days=svc.settings.retention_seconds // 86400,
    )


@bp.get("/console/me/links/<link_id>/qr.<any(svg, png):kind>")
@requires(CREATOR)
def my_link_qr(link_id: str, kind: qrcodes.QrKind) -> Any:
    scale = paging.whole_number(
        "scale",
        request.args.get("scale"),
        default=qrcodes.DEFAULT_SCALE,
        low=qrcodes.MIN_SCALE,
        high=qrcodes.MAX_SCALE,
    )
    return qr_response(_my_link(link_id), kind, scale)


@bp.get("/console/me/links/<link_id>/clicks.csv")
@requires(CREATOR)
def my_link_clicks(link_id: str) -> Any:
    """The link's raw clicks as the API exports them (``from``, ``to`` likewise)."""
    query = link_schemas.ClicksQuery.model_validate(request.args.to_dict())
    return clicks_csv(_my_link(link_id), query)
