"""Request and response models of the lists: the orders list, the registry's
lists and a link's per-day series (beside ``schemas``, which holds the rest).

A list's query knows its parameters and no other: an unknown one is 422.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .. import paging, series
from .schemas import Agency, OrderSummary, Slug, Timestamp

Cursor = Annotated[
    str,
    Field(
        max_length=paging.MAX_CURSOR_LENGTH,
        description="the previous page's next_cursor; absent for the first page",
    ),
]
Limit = Annotated[
    int,
    Field(ge=1, le=paging.MAX_LIST_LIMIT, description="items per page"),
]
# ``orders.STATUSES``, written out for the document (a test holds them equal).
Status = Literal["paid", "confirmed", "refunded", "cancelled"]


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cursor: Cursor | None = None
    limit: Limit = paging.DEFAULT_LIST_LIMIT


class OrderListQuery(ListQuery):
    status: Status | None = Field(default=None, description="the order's current status")
    creator_id: Slug | None = Field(
        default=None, description="attributed to this creator (a creator: itself only)"
    )
    storefront_id: Slug | None = None
    period: str | None = Field(
        default=None,
        max_length=16,
        description="YYYY-MM: the month, in the service's zone, that holds paid_at",
    )
    format: Literal["json", "csv"] = Field(
        default="json", description="csv: every matching order, streamed; no paging"
    )


class OrderList(BaseModel):
    """A page of orders, or with ``?format=csv`` every matching order as CSV."""

    model_config = ConfigDict(
        openapi_extra={  # type: ignore[typeddict-unknown-key]
            "content": {
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": "?format=csv: a header row, then a row per order",
                    }
                }
            }
        },
    )
    items: list[OrderSummary]
    next_cursor: str | None = Field(description="null on the last page")


class AgencyList(BaseModel):
    items: list[Agency]
    next_cursor: str | None


class CreatorEntry(BaseModel):
    """A creator as the list shows it: never its API key, nor the key's hash."""

    id: str
    name: str
    agency_id: str | None
    created_at: Timestamp


class CreatorList(BaseModel):
    items: list[CreatorEntry]
    next_cursor: str | None


class StorefrontEntry(BaseModel):
    """A storefront as the list shows it: never its signing secrets."""

    id: str
    name: str
    hosts: list[str]
    app_schemes: list[str]
    click_param: str
    created_at: Timestamp


class StorefrontList(BaseModel):
    items: list[StorefrontEntry]
    next_cursor: str | None


class SeriesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)
    from_: str | None = Field(
        default=None,
        alias="from",
        max_length=10,
        description=f"first day, YYYY-MM-DD; default: {series.DEFAULT_DAYS} days ending with to",
    )
    to: str | None = Field(
        default=None, max_length=10, description="last day, YYYY-MM-DD; default: today"
    )


class SeriesFigures(BaseModel):
    clicks: int
    unique_clicks: int
    bot_clicks: int
    suspicious_clicks: int
    orders: int = Field(description="orders paid that day (less those cancelled or rejected)")
    gmv: int = Field(description="change of net GMV that day, minor units")
    commission: int = Field(description="change of commission that day, minor units")


class SeriesDay(SeriesFigures):
    date: str


class LinkSeries(BaseModel):
    link_id: str
    timezone: str
    from_: str = Field(alias="from")
    to: str
    days: list[SeriesDay] = Field(description=f"every day, oldest first; {series.MAX_DAYS} at most")
    totals: SeriesFigures
