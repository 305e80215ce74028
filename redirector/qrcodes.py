"""QR codes of a link's public URL, as SVG or PNG (segno).

Rules:
- the code holds the link's URL exactly as the link's JSON gives it
  (``<public URL>/r/<token>``), nothing added;
- error correction M (about 15% of the symbol may be lost): a code printed on
  a poster or shown on a phone's screen survives smudges and glare, and stays
  a size smaller than H's; segno may raise it when that costs no size;
- a border of 4 modules, the quiet zone the standard asks for, so that the
  code reads even when put on a busy background;
- ``scale`` is the size of one module in pixels (the PNG's) or in user units
  (the SVG's width and height), ``MIN_SCALE`` to ``MAX_SCALE``; a link's URL
  (60-90 characters) makes a symbol of 41-49 modules with its border, so
  ``MAX_SCALE`` is a square of about 2,000 pixels: plenty for print, and a
  bound on the work one request can ask for.

Pure: no Flask, no store. ``render`` answers the bytes and an ETag for them.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import segno

__all__ = [
    "BORDER",
    "DEFAULT_SCALE",
    "ERROR_CORRECTION",
    "MAX_SCALE",
    "MEDIA_TYPES",
    "MIN_SCALE",
    "QrImage",
    "QrKind",
    "render",
]

ERROR_CORRECTION = "m"
BORDER = 4
MIN_SCALE = 1
DEFAULT_SCALE = 8
MAX_SCALE = 40
QrKind = Literal["svg", "png"]
MEDIA_TYPES: dict[QrKind, str] = {"svg": "image/svg+xml", "png": "image/png"}


@dataclass(frozen=True, slots=True)
class QrImage:
    body: bytes
    media_type: str
    etag: str  # of the body: a client that holds this image is answered 304


# Drawing a code takes segno some 15-20 ms; a link's is asked for again and
# again (the console's page, its downloads, a client without a cache).
@lru_cache(maxsize=256)
def render(url: str, kind: QrKind, scale: int = DEFAULT_SCALE) -> QrImage:
    """The QR code of ``url`` as an image of ``kind``."""
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be from {MIN_SCALE} to {MAX_SCALE}")
    code = segno.make_qr(url, error=ERROR_CORRECTION, boost_error=True)
    out = io.BytesIO()
    if kind == "svg":
        # No XML declaration and no class names: an image that an <img> shows
        # and a designer's tool opens as it is.
        code.save(out, kind="svg", scale=scale, border=BORDER, xmldecl=False,
                  svgclass=None, lineclass=None)  # fmt: skip
    else:
        code.save(out, kind="png", scale=scale, border=BORDER)
    body = out.getvalue()
    return QrImage(body, MEDIA_TYPES[kind], hashlib.sha256(body).hexdigest()[:32])
