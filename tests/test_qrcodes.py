"""QR codes of a link's URL: read back with a real decoder (zxing-cpp), sized by
``scale`` within bounds, cached privately, and only for who may read the link."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import segno

from redirector import qrcodes

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, Api, error_of

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")

SVG_NS = "{http://www.w3.org/2000/svg}"


def decoded(png: bytes) -> list[str]:
    return [
        code.text
        for code in zxingcpp.read_barcodes(
            Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
        )
    ]


def modules(url: str) -> int:
    """The symbol's side with its quiet zone, in modules, as segno makes it."""
    width, _ = segno.make_qr(url, error="m", boost_error=True).symbol_size(border=qrcodes.BORDER)
    return int(width)


def test_the_png_reads_back_as_the_links_url_and_that_url_redirects(api: Api, world: dict):
    link = api.link(world["alice"])
    response = api.call("GET", f"/api/v1/links/{link['id']}/qr.png", token=world["alice"])

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert decoded(response.data) == [link["url"]]
    image = Image.open(io.BytesIO(response.data))
    side = modules(link["url"]) * qrcodes.DEFAULT_SCALE
    assert image.size == (side, side)
    # What the code holds is the link: following it is a click.
    token = link["url"].rsplit("/r/", 1)[1]
    assert api.client.get(f"/r/{token}", headers={"User-Agent": DESKTOP_CHROME}).status_code == 302


def test_the_svg_is_the_same_symbol_as_an_image_any_tool_opens(api: Api, world: dict) -> None:
    link = api.link(world["alice"])
    response = api.call("GET", f"/api/v1/links/{link['id']}/qr.svg?scale=3", token=world["alice"])

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{SVG_NS}svg"
    side = modules(link["url"]) * 3
    assert (root.get("width"), root.get("height")) == (str(side), str(side))
    assert root.findall(f".//{SVG_NS}path"), "no modules drawn"
    assert not response.data.startswith(b"<?xml")
    # No decoder reads SVG: the symbol is checked by encoding the URL again.
    assert response.data == qrcodes.render(link["url"], "svg", 3).body
    assert b"script" not in response.data.lower()


def test_the_png_at_another_scale_still_reads_back(api: Api, world: dict) -> None:
    link = api.link(world["bob"], sub_ids={"sub1": "poster"})
    for scale in (qrcodes.MIN_SCALE + 1, 17, qrcodes.MAX_SCALE):
        response = api.call("GET", f"/api/v1/links/{link['id']}/qr.png?scale={scale}")
        side = modules(link["url"]) * scale
        assert Image.open(io.BytesIO(response.data)).size == (side, side)
        assert decoded(response.data) == [link["url"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scale=0", "scale"),
        (f"scale={qrcodes.MAX_SCALE + 1}", "scale"),
        ("scale=-3", "scale"),
        ("scale=big", "scale"),
        ("scale=2.5", "scale"),
        ("size=100", "size"),
    ],
)
@pytest.mark.parametrize("kind", ["svg", "png"])
def test_a_scale_out_of_bounds_or_an_unknown_parameter_is_422(
    api: Api, world: dict, query: str, field: str, kind: str
) -> None:
    link = api.link(world["alice"])
    response = api.call("GET", f"/api/v1/links/{link['id']}/qr.{kind}?{query}")
    assert [f["field"] for f in error_of(response, 422)["fields"]] == [field]


def test_the_code_is_cached_privately_and_answered_304_when_unchanged(api: Api, world: dict):
    link = api.link(world["alice"])
    path = f"/api/v1/links/{link['id']}/qr.png"
    first = api.call("GET", path, token=world["alice"])

    assert first.headers["Cache-Control"] == "private, max-age=86400"
    assert first.headers["Content-Disposition"] == f'inline; filename="link-{link["id"]}-qr.png"'
    etag = first.headers["ETag"]
    again = api.call("GET", path, token=world["alice"], headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    other_scale = api.call("GET", path + "?scale=2", token=world["alice"])
    assert other_scale.headers["ETag"] != etag


def test_another_creators_link_is_not_found_and_the_admin_reads_any(api: Api, world: dict) -> None:
    link = api.link(world["alice"])
    for kind in ("svg", "png"):
        path = f"/api/v1/links/{link['id']}/qr.{kind}"
        assert error_of(api.call("GET", path, token=world["bob"]), 404)["code"] == "not_found"
        assert api.call("GET", path, token=ADMIN_TOKEN).status_code == 200
        assert api.call("GET", path, token=None).status_code == 401
    for missing in ("AbCdE12345", "nope", "AbCdE1234!"):
        assert api.call("GET", f"/api/v1/links/{missing}/qr.png").status_code == 404


def test_a_disabled_links_code_is_still_answered_as_its_url_is(api: Api, world: dict) -> None:
    link = api.link(world["alice"])
    api.ok("DELETE", f"/api/v1/links/{link['id']}", token=world["alice"])
    response = api.call("GET", f"/api/v1/links/{link['id']}/qr.png", token=world["alice"])
    assert decoded(response.data) == [link["url"]]


def test_render_refuses_a_scale_out_of_bounds() -> None:
    for scale in (qrcodes.MIN_SCALE - 1, qrcodes.MAX_SCALE + 1):
        with pytest.raises(ValueError, match="scale"):
            qrcodes.render("https://go.example.test/r/x", "png", scale)
    image = qrcodes.render("https://go.example.test/r/x", "png", qrcodes.MIN_SCALE)
    assert decoded(image.body) == ["https://go.example.test/r/x"]


def test_the_qr_endpoints_are_in_the_openapi_document(client: Any) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    for kind, media in (("svg", "image/svg+xml"), ("png", "image/png")):
        operation = paths[f"/api/v1/links/{{link_id}}/qr.{kind}"]["get"]
        assert media in operation["responses"]["200"]["content"]
        assert {p["name"] for p in operation["parameters"]} >= {"link_id", "scale"}
