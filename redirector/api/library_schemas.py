"""Request and response models of the product library's search (``library_search``),
beside ``schemas`` (which is kept under the module size limit)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..library import MAX_KEYWORD, Sort
from ..library_search import DEFAULT_LIMIT, MAX_LIMIT
from .schemas import Product, Slug


class LibraryQuery(BaseModel):
    # A parameter the search does not know is refused, never ignored: a filter
    # misspelt would otherwise widen the results without a word.
    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(
        default=None,
        max_length=MAX_KEYWORD,
        description="keyword: each word must appear in the title (case and width ignored)",
    )
    category: Slug | None = None
    storefront_id: Slug | None = None
    min_commission_bps: int | None = Field(default=None, ge=0, le=10000)
    sort: Sort = Field(default="newest", description="sales: orders paid through links")
    order: Literal["asc", "desc"] | None = Field(
        default=None, description="default: asc for price, desc otherwise"
    )
    active: bool | None = Field(
        default=None,
        description="admins only: true or false; absent, all products. Creators see active ones",
    )
    cursor: str | None = Field(default=None, min_length=1, max_length=512)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ProductPage(BaseModel):
    items: list[Product]
    next_cursor: str | None = Field(description="null on the last page")
