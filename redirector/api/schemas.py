"""Request and response models: one source for validation and the OpenAPI document.

The patterns and choices a field must follow are the domain's own (``registry``
for slugs and click parameters, ``links`` for link ids, post ids and
placements, ``orders`` for order ids), so a rule changes in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from .. import paging
from ..library import MAX_SHARE_CODE
from ..links import LINK_ID_LENGTH, POST_ID, NewLink, Placement
from ..orders import ORDER_ID_PATTERN
from ..registry import CLICK_PARAM, DEFAULT_CLICK_PARAM, SLUG
from .link_schemas import SubIdFilters, SubIds, SubIdsBody

Slug = Annotated[
    str,
    Field(pattern=SLUG.pattern, description="lower-case slug, 1-64 chars"),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
# No pattern here: a malformed id names no link, and is answered 404 as one
# (``links.known_link_id``), not 422.
LinkId = Annotated[str, Field(description=f"{LINK_ID_LENGTH} letters or digits")]
Timestamp = Annotated[
    str, Field(description="RFC 3339 time with offset", json_schema_extra={"format": "date-time"})
]
# The mock clock's range: every period, window and holding time computed from a
# moment in it stays within the years periods are kept for (2000-2999).
CLOCK_EARLIEST = datetime(2000, 1, 3, tzinfo=UTC)
CLOCK_LATEST = datetime(2998, 11, 1, tzinfo=UTC)


def _reading(value: str) -> datetime | None:
    """The moment as ``orders.parse_time`` reads it, or None when it reads none
    (that function then refuses it with its own message)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _representable(value: str) -> str:
    moment = _reading(value)
    if moment is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
            raise ValueError("is out of the range of representable times") from None
    return value


def _clock_range(value: str) -> str:
    moment = _reading(_representable(value))
    if moment is not None and not CLOCK_EARLIEST <= moment <= CLOCK_LATEST:
        raise ValueError(
            f"the clock can be set from {CLOCK_EARLIEST:%Y-%m-%d} to {CLOCK_LATEST:%Y-%m-%d} (UTC)"
        )
    return value


EventTime = Annotated[Timestamp, AfterValidator(_representable)]
ClockTime = Annotated[
    str,
    Field(
        description=f"RFC 3339 time with offset, {CLOCK_EARLIEST:%Y-%m-%d} to "
        f"{CLOCK_LATEST:%Y-%m-%d} (UTC)",
        json_schema_extra={"format": "date-time"},
    ),
    AfterValidator(_clock_range),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- paths -------------------------------------------------------------------------


class AgencyPath(BaseModel):
    agency_id: Slug


class CreatorPath(BaseModel):
    creator_id: Slug


class StorefrontPath(BaseModel):
    storefront_id: Slug


class ProductPath(BaseModel):
    product_id: Slug


class LinkPath(BaseModel):
    link_id: LinkId


# -- bodies ------------------------------------------------------------------------


class AgencyBody(Body):
    name: Name


class CreatorBody(Body):
    name: Name
    agency_id: Slug | None = None


class StorefrontBody(Body):
    name: Name
    hosts: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        min_length=1,
        max_length=100,
        description="allowed destination hosts; '*.example.com' for subdomains",
    )
    click_param: str | None = Field(
        default=None, pattern=CLICK_PARAM.pattern, description=f"default {DEFAULT_CLICK_PARAM}"
    )
    app_schemes: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        default=None,
        max_length=20,
        description=(
            "the storefront's own app schemes its products' app URLs may use besides "
            "http(s), e.g. ['taobao']; absent: those declared before (none, on create)"
        ),
    )


class ProductBody(Body):
    storefront_id: Slug
    title: Name
    price: StrictInt = Field(ge=0, le=10**12, description="minor units (fen)")
    commission_rate_bps: StrictInt = Field(ge=0, le=10000)
    web_url: str = Field(min_length=1, max_length=2048)
    app_url: str | None = Field(default=None, min_length=1, max_length=2048)
    active: StrictBool = True
    category: Slug | None = None
    image_url: str | None = Field(default=None, min_length=1, max_length=2048)
    share_code: str | None = Field(default=None, min_length=1, max_length=MAX_SHARE_CODE)


class LinkBody(Body):
    product_id: Slug
    channel: Annotated[str, Field(min_length=1, max_length=32)]
    post_id: Annotated[str, Field(pattern=POST_ID.pattern)] | None = None
    placement: Placement | None = None
    sub_ids: SubIdsBody | None = None

    def new_link(self) -> NewLink:
        given = self.sub_ids.given() if self.sub_ids else {}
        return NewLink(self.product_id, self.channel, self.post_id, self.placement, given)


# -- queries -----------------------------------------------------------------------


class LinkQuery(SubIdFilters):
    creator_id: Slug | None = None
    offset: int = Field(default=0, ge=0, le=paging.MAX_OFFSET)
    limit: int = Field(default=paging.DEFAULT_LINKS_LIMIT, ge=1, le=paging.MAX_LINKS_LIMIT)


# -- responses ---------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Agency(BaseModel):
    id: str
    name: str
    created_at: Timestamp


class Creator(BaseModel):
    id: str
    name: str
    agency_id: str | None
    created_at: Timestamp
    api_key: str | None = Field(default=None, description="only when created or rotated")


class ApiKey(BaseModel):
    api_key: str


class Storefront(BaseModel):
    id: str
    name: str
    hosts: list[str]
    app_schemes: list[str]
    click_param: str
    created_at: Timestamp
    signing_secret: str | None = Field(default=None, description="whsec_…, only on create")


class Sales(BaseModel):
    orders: int
    gmv: int


class Product(BaseModel):
    id: str
    storefront_id: str
    title: str
    price: int
    commission_rate_bps: int
    web_url: str
    app_url: str | None
    active: bool
    category: str | None
    image_url: str | None
    share_code: str | None
    created_at: Timestamp
    updated_at: Timestamp
    sales: Sales


class Program(BaseModel):
    channel: str
    network_bps: int
    platform_bps: int
    guide_bps: int
    window_days: int
    holding_days: int


class ProgramList(BaseModel):
    programs: list[Program]


class LinkStats(BaseModel):
    clicks: int
    unique_clicks: int
    bot_clicks: int
    suspicious_clicks: int = Field(description="clicks flagged as a flood; counted in clicks too")
    orders: int
    gmv: int
    commission: int


class DailyStats(BaseModel):
    date: str
    clicks: int
    unique_clicks: int
    bot_clicks: int
    suspicious_clicks: int


class Link(BaseModel):
    id: str
    token: str
    url: str
    creator_id: str
    product_id: str
    storefront_id: str
    channel: str
    post_id: str | None
    placement: str | None
    sub_ids: SubIds
    created_at: Timestamp
    active: bool
    product_active: bool
    stats: LinkStats
    daily: list[DailyStats] | None = None


class LinkList(BaseModel):
    links: list[Link]
    next_offset: int | None


# -- orders and clock ----------------------------------------------------------------

OrderId = Annotated[str, Field(pattern=ORDER_ID_PATTERN)]


ORDER_EVENT_EXAMPLE = {
    "order_id": "TB-20260501-0001",
    "status": "paid",
    "amount": 12800,
    "currency": "CNY",
    "occurred_at": "2026-05-01T10:00:00+08:00",
}


class OrderEventBody(Body):
    """An order event as a storefront posts it (signed per Standard Webhooks)."""

    model_config = ConfigDict(extra="forbid")
    order_id: OrderId
    status: Literal["paid", "confirmed", "refunded", "cancelled"]
    amount: StrictInt = Field(ge=0, le=10**12, description="minor units (fen)")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    refunded_amount: StrictInt | None = Field(default=None, ge=0, le=10**12)
    click_id: Annotated[str, Field(max_length=64)] | None = None
    device_id: Annotated[str, Field(max_length=128)] | None = None
    occurred_at: EventTime


class Attributed(BaseModel):
    click_id: str
    link_id: str
    creator_id: str


class OrderEventResult(BaseModel):
    order_id: str
    status: str
    attributed: Attributed | None
    commission: int


class OrderPath(BaseModel):
    storefront_id: Slug
    order_id: OrderId


class OrderAttribution(BaseModel):
    click_id: str
    link_id: str
    creator_id: str
    product_id: str
    channel: str
    account_id: str
    account_type: str
    by: str


class OrderHistoryEntry(BaseModel):
    webhook_id: str
    status: str
    amount: int
    refunded_amount: int | None
    occurred_at: Timestamp
    received_at: Timestamp
    click_id: str | None
    device_id: str | None
    applied: bool


class OrderSummary(BaseModel):
    """An order as lists show it: its record without the history."""

    storefront_id: str
    order_id: str
    status: str
    amount: int
    refunded_amount: int
    currency: str
    paid_at: Timestamp | None
    confirmed_at: Timestamp | None
    refunded_at: Timestamp | None
    cancelled_at: Timestamp | None
    attributed: OrderAttribution | None
    commission_rate_bps: int | None
    commission: int
    settled_period: str | None
    review: OrderReview | None = Field(default=None, description="null: never held for review")


class OrderRecord(OrderSummary):
    history: list[OrderHistoryEntry]


class SecretRotationBody(Body):
    grace_seconds: StrictInt = Field(
        default=86400, ge=0, le=30 * 86400, description="how long the old secret still verifies"
    )


class SecretRotation(BaseModel):
    signing_secret: str
    previous_valid_until: Timestamp


class ClockBody(Body):
    now: ClockTime


class ClockState(BaseModel):
    now: Timestamp


# -- settlement ------------------------------------------------------------------------


class PeriodPath(BaseModel):
    period: Annotated[str, Field(max_length=16, description="YYYY-MM")]


class AdSpendPath(BaseModel):
    period: Annotated[str, Field(max_length=16, description="YYYY-MM")]
    account_id: Slug


class StatementQuery(BaseModel):
    format: Literal["json", "csv"] = "json"


class EarningsQuery(BaseModel):
    period: (
        Annotated[str, Field(max_length=16, description="YYYY-MM; default the current")] | None
    ) = None


class AdSpendBody(Body):
    amount: StrictInt = Field(ge=0, le=10**12, description="minor units (fen)")


class AdSpend(BaseModel):
    period: str
    account_id: str
    account_type: str
    amount: int


class CreatorPart(BaseModel):
    creator_id: str
    orders: int
    gmv: int
    commission: int


class Figures(BaseModel):
    orders: int
    gmv: int
    commission: int
    network: int
    platform: int
    guide: int
    ad_spend: int
    ad_rebate: int
    platform_net: int
    guide_payable: int


class StatementLine(Figures):
    account_id: str
    account_type: Literal["agency", "creator"]
    channel: str
    creators: list[CreatorPart]
    adjustment: bool | None = None
    order_ids: list[str] | None = None


class Statement(BaseModel):
    period: str
    status: Literal["open", "closed"]
    currency: str
    timezone: str
    totals: Figures
    lines: list[StatementLine]
    closed_at: Timestamp | None = None


class StatementDocument(Statement):
    """A statement as JSON, or as CSV with ``?format=csv`` (the same component)."""

    model_config = ConfigDict(
        title="Statement",
        openapi_extra={  # type: ignore[typeddict-unknown-key]
            "content": {
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": "?format=csv: a header row, the lines, a totals row",
                    }
                }
            }
        },
    )


class EarningsLine(BaseModel):
    account_id: str
    channel: str
    orders: int
    gmv: int
    commission: int
    adjustment: bool | None = None


class Earnings(BaseModel):
    creator_id: str
    period: str
    status: str
    orders: int
    gmv: int
    commission: int
    lines: list[EarningsLine]


# -- service ---------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    store: Literal["reachable", "unreachable"]


# -- leaderboard -------------------------------------------------------------------------


class LeaderboardQuery(BaseModel):
    period: (
        Annotated[str, Field(max_length=16, description="YYYY-MM; default the current")] | None
    ) = None
    channel: (
        Annotated[str, Field(max_length=32, description="one program's channel; default all")]
        | None
    ) = None
    limit: int = Field(
        default=paging.DEFAULT_BOARD_LIMIT,
        ge=1,
        le=paging.MAX_BOARD_LIMIT,
        description="how many entries, best first",
    )


class LeaderboardEntry(BaseModel):
    rank: int = Field(description="1 for the best; no two creators share a rank")
    creator_id: str
    name: str
    orders: int = Field(description="orders settled in the period")
    gmv: int = Field(description="their net amounts (refunds taken off), minor units")


class Leaderboard(BaseModel):
    period: str
    status: Literal["open", "closed"]
    currency: str
    channel: str | None
    entries: list[LeaderboardEntry]


# -- review of held orders (click fraud) ---------------------------------------------------


class OrderReview(BaseModel):
    status: Literal["held", "released", "rejected"]
    reason: Literal["flood", "instant_conversion"] | None = Field(
        description="why it was held: a flagged click (flood), or paid within seconds of it"
    )
    reviewed_at: Timestamp | None = Field(description="when an admin released or rejected it")


class ReviewQuery(BaseModel):
    status: Literal["held"] = Field(default="held", description="orders waiting for review")


class HeldOrder(BaseModel):
    storefront_id: str
    order_id: str
    status: str
    reason: Literal["flood", "instant_conversion"] | None
    amount: int
    refunded_amount: int
    commission: int
    paid_at: Timestamp | None
    attributed: OrderAttribution | None


class HeldOrderList(BaseModel):
    orders: list[HeldOrder]
