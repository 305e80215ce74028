"""The product library's rules: what a product's optional showcase fields may
hold. Pure: no Flask, no Redis.

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
"""

from __future__ import annotations

import unicodedata
from typing import Any

from .destinations import Allowed, check_destination
from .errors import InvalidField

__all__ = [
    "MAX_SHARE_CODE",
    "check_image_url",
    "check_share_code",
    "image_allowed",
    "showcase_fields",
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
