"""The product library's rules: what a product's optional showcase fields may
hold, how a title is searched, and how results are ordered and paged. Pure: no
Flask, no Redis (``library_index`` writes the indexes, ``library_search`` reads).

Rules:
- ``category`` is a slug, like every id here (``registry.SLUG``);
- ``image_url`` is an https URL, ASCII, with no space, backslash or control
  character, whose host is a DNS name on the storefront's hosts or on the
  deployment's image hosts (``REDIRECTOR_IMAGE_HOSTS``): an image is shown in
  pages the service serves, so it may come only from where an admin said;
- ``share_code`` is the text a buyer pastes into a shopping app
  (``￥AbC123￥``): 1 to ``MAX_SHARE_CODE`` characters, none of them a control,
  format or line-breaking character (a newline or a right-to-left override
  would change what a page or a clipboard shows), no blank at either end.

Search rules:
- a title and a keyword are compared normalised: NFKC, then case-folded, runs
  of white space as one space (so ``ＴＥＡ`` finds ``Tea``; simplified and
  traditional Chinese stay different);
- a keyword's words (split on white space) must each appear in the title, as
  a run of characters anywhere in it (``井茶`` finds ``龙井茶``);
- the index holds each title's pairs of adjacent characters within a word, and
  each character that is not an ASCII letter or digit (a Chinese character is
  a word by itself): a word of the keyword is looked up by its pairs, or by
  itself when it is one such character, and every hit is checked against the
  title, so the index only narrows, never decides;
- the order is by one value (``SORTS``), then by product id, both in the
  direction asked; sales count orders paid, net of refunds and cancellations,
  made through the service's links, and tie by when the product was created.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .destinations import Allowed, check_destination
from .errors import InvalidField

__all__ = [
    "MAX_KEYWORD",
    "MAX_SHARE_CODE",
    "MAX_WORDS",
    "ORDINAL_BITS",
    "SORTS",
    "Facts",
    "Sort",
    "check_image_url",
    "check_share_code",
    "image_allowed",
    "normalise",
    "order_member",
    "sales_score",
    "showcase_fields",
    "terms",
    "word_terms",
    "words",
]

MAX_SHARE_CODE = 64
# Control (Cc), format (Cf), surrogate, private-use and unassigned characters,
# and the line and paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def check_image_url(url: str, allowed: Allowed, image_hosts: tuple[str, ...]) -> None:
    """Refuses ``url`` (``InvalidField`` naming ``image_url``) unless it follows
    the rule above."""
    if not url.lower().startswith("https://"):
        raise InvalidField.one("image_url", "must be an https URL")
    # The destination rules check ASCII, spaces, backslashes and the host's form;
    # the hosts are the storefront's and the deployment's image hosts together.
    everywhere = Allowed(allowed.storefront_id, allowed.hosts + image_hosts)
    check_destination(
        "image_url",
        url,
        everywhere,
        web=True,
        hosts_named=f"storefront {allowed.storefront_id!r}'s hosts or the image hosts",
    )


def check_share_code(code: str) -> None:
    if not 1 <= len(code) <= MAX_SHARE_CODE:
        raise InvalidField.one("share_code", f"use 1 to {MAX_SHARE_CODE} characters")
    if any(unicodedata.category(c) in REFUSED_CATEGORIES for c in code):
        raise InvalidField.one(
            "share_code", "must not contain control characters, newlines or invisible formatting"
        )
    if code != code.strip():
        raise InvalidField.one("share_code", "must not begin or end with a blank")


def showcase_fields(
    fields: dict[str, Any], allowed: Allowed, image_hosts: tuple[str, ...]
) -> dict[str, str]:
    """The optional fields of a product as stored ("" for absent), each checked."""
    image_url = fields.get("image_url") or ""
    share_code = fields.get("share_code") or ""
    if image_url:
        check_image_url(image_url, allowed, image_hosts)
    if share_code:
        check_share_code(share_code)
    return {
        "category": fields.get("category") or "",
        "image_url": image_url,
        "share_code": share_code,
    }


def image_allowed(url: str, allowed: Allowed, image_hosts: tuple[str, ...]) -> bool:
    """Whether ``url`` passes ``check_image_url``."""
    try:
        check_image_url(url, allowed, image_hosts)
    except InvalidField:
        return False
    return True


# -- search ---------------------------------------------------------------------------

Sort = Literal["sales", "commission", "price", "newest"]
SORTS: tuple[Sort, ...] = ("sales", "commission", "price", "newest")
MAX_KEYWORD = 100
MAX_WORDS = 10
# Sales order: orders * 2**ORDINAL_BITS + the product's ordinal, exact in a double
# while orders stay under 2**32 and the library under 2**21 (2,097,152) products.
ORDINAL_BITS = 21
# Digits of each lex-ordered value: prices up to 10**12 fen, rates up to 10000
# bps, times in ms until the year 2286.
WIDTHS = {"commission": 5, "price": 13, "newest": 13}


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def words(keyword: str) -> list[str]:
    """A keyword's words, normalised, each once, in the order given."""
    return list(dict.fromkeys(normalise(keyword).split()))


def _alone(c: str) -> bool:
    """Whether a character is a word by itself (indexed alone): not ASCII letters or digits."""
    return not (c.isascii() and c.isalnum())


def word_terms(word: str) -> list[str]:
    """The index terms a normalised word is looked up by (none: only a check finds it)."""
    if len(word) == 1:
        return [word] if _alone(word) else []
    return list(dict.fromkeys(word[i : i + 2] for i in range(len(word) - 1)))


def terms(title: str) -> set[str]:
    """The index terms of a title: its pairs within words and its lone characters."""
    found: set[str] = set()
    for word in normalise(title).split():
        found.update(word[i : i + 2] for i in range(len(word) - 1))
        found.update(c for c in word if _alone(c))
    return found


@dataclass(frozen=True, slots=True)
class Facts:
    """What a search filters and sorts a product by, as the index keeps it."""

    commission: int
    price: int
    created_at: int
    active: bool
    category: str
    storefront_id: str
    title: str  # normalised

    def to_list(self) -> list[Any]:
        return [
            self.commission,
            self.price,
            self.created_at,
            int(self.active),
            self.category,
            self.storefront_id,
            self.title,
        ]

    @classmethod
    def from_list(cls, raw: list[Any]) -> Facts:
        c, p, t, a, cat, sf, title = raw
        return cls(int(c), int(p), int(t), bool(a), cat, sf, title)

    def value(self, sort: str) -> int:
        return {"commission": self.commission, "price": self.price, "newest": self.created_at}[sort]

    def holds(self, word: str) -> bool:
        return word in self.title

    def members(self, product_id: str) -> Iterator[tuple[str, str]]:
        """(order key name, member) of each lex order the product is in."""
        for sort in WIDTHS:
            yield sort, order_member(sort, self.value(sort), product_id)


def order_member(sort: str, value: int, product_id: str) -> str:
    """A product's member in a lex order: byte order is (value, id) order."""
    return f"{value:0{WIDTHS[sort]}d}:{product_id}"


def member_bound(sort: str, value: int) -> str:
    """The smallest member a product with ``value`` can have."""
    return f"{value:0{WIDTHS[sort]}d}:"


def product_of(member: str) -> str:
    return member.split(":", 1)[1]


def sales_score(orders: int, ordinal: int) -> int:
    return (orders << ORDINAL_BITS) + ordinal
