"""Models of the link kit: sub-ids, stats per sub-id, QR codes, the raw clicks export.

Beside ``schemas`` (which imports the sub-id models for the link's body and
document), with the domain's own patterns and bounds (``links.SUB_ID``,
``qrcodes``, ``click_export``). A query here knows its parameters: any other
is 422, never silently ignored (a misspelt filter would answer every link).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..click_export import CSV_COLUMNS
from ..links import SUB_ID, SubIdName
from ..qrcodes import DEFAULT_SCALE, MAX_SCALE, MIN_SCALE

SubIdValue = Annotated[
    str, Field(pattern=SUB_ID.pattern, description="letters, digits, '_', '.', '-'; 1-64")
]
CreatorFilter = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="admin: whose links (a creator sees its own)",
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubIdsBody(Strict):
    """A link's sub-ids as its maker sets them, once: no other name is one."""

    sub1: SubIdValue | None = None
    sub2: SubIdValue | None = None
    sub3: SubIdValue | None = None

    def given(self) -> dict[str, str]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class SubIds(BaseModel):
    sub1: str | None
    sub2: str | None
    sub3: str | None


class SubIdFilters(Strict):
    sub1: SubIdValue | None = Field(default=None, description="only links made with this sub1")
    sub2: SubIdValue | None = Field(default=None, description="only links made with this sub2")
    sub3: SubIdValue | None = Field(default=None, description="only links made with this sub3")

    def filters(self) -> dict[str, str]:
        return {
            name: getattr(self, name)
            for name in ("sub1", "sub2", "sub3")
            if getattr(self, name) is not None
        }


class LinkStatsQuery(SubIdFilters):
    by: SubIdName = Field(description="the sub-id whose values group the links")
    creator_id: CreatorFilter | None = None


class GroupStats(BaseModel):
    clicks: int
    unique_clicks: int
    bot_clicks: int
    suspicious_clicks: int
    orders: int
    gmv: int
    commission: int


class SubIdGroup(BaseModel):
    value: str | None = Field(description="null: the links made without this sub-id")
    links: int
    stats: GroupStats


class SubIdTotals(BaseModel):
    links: int
    stats: GroupStats


class SubIdStats(BaseModel):
    creator_id: str
    by: SubIdName
    filters: dict[str, str]
    groups: list[SubIdGroup]
    totals: SubIdTotals


class QrQuery(Strict):
    scale: int = Field(
        default=DEFAULT_SCALE,
        ge=MIN_SCALE,
        le=MAX_SCALE,
        description="pixels per module (the PNG's); the SVG's width and height in the same units",
    )


QR_IMAGE = {
    "description": "the QR code of the link's public URL",
    "content": {
        "image/svg+xml": {"schema": {"type": "string"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
    },
}


class ClicksQuery(Strict):
    from_: str | None = Field(
        default=None,
        alias="from",
        description="RFC 3339 with offset, inclusive; default a day before `to`",
        json_schema_extra={"format": "date-time"},
    )
    to: str | None = Field(
        default=None,
        description="RFC 3339 with offset, exclusive; default now",
        json_schema_extra={"format": "date-time"},
    )
    format: Literal["csv"] = "csv"


CLICKS_CSV = {
    "description": "one row per click in the range, oldest first",
    "content": {
        "text/csv": {
            "schema": {
                "type": "string",
                "description": "a header row (" + ",".join(CSV_COLUMNS) + "), then the clicks",
            }
        }
    },
}
