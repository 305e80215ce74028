"""The link kit in the console: a creator sets sub-ids with the form, and each of
its links has a page with the QR code (shown, and to download as SVG and PNG)
and its raw clicks, served under the session by the API's own functions."""

from __future__ import annotations

import io
from typing import Any

import pytest

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, Api
from .test_console import csrf_token, sign_in

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")


def test_the_form_sets_sub_ids_as_the_api_would(client: Any, world: dict, api: Api) -> None:
    sign_in(client, world["alice"])
    form = {
        "csrf_token": csrf_token(client, "/console/me"),
        "product_id": "tea",
        "channel": "weibo",
        "sub1": "spring",
        "sub2": "",  # an empty field is an absent one
        "sub3": "v2",
    }
    assert client.post("/console/me/links", data=form).status_code == 302
    (link,) = api.ok("GET", "/api/v1/links", token=world["alice"])["links"]
    assert link["sub_ids"] == {"sub1": "spring", "sub2": None, "sub3": "v2"}
    html = client.get("/console/me").get_data(as_text=True)
    assert 'data-sub="sub1">sub1: spring' in html and 'data-sub="sub3">sub3: v2' in html

    bad = client.post("/console/me/links", data={**form, "sub1": "no spaces"})
    page = client.get(bad.headers["Location"]).get_data(as_text=True)
    assert "子 ID 1: String should match pattern" in page
    assert 'value="no spaces"' in page  # the form comes back filled in
    assert len(api.ok("GET", "/api/v1/links", token=world["alice"])["links"]) == 1


def test_a_links_page_shows_its_qr_code_and_offers_both_downloads(
    client: Any, world: dict, api: Api
) -> None:
    link = api.link(world["alice"], sub_ids={"sub1": "poster"})
    sign_in(client, world["alice"])

    html = client.get(f"/console/me/links/{link['id']}").get_data(as_text=True)

    base = f"/console/me/links/{link['id']}"
    assert f'<img class="qr" src="{base}/qr.svg"' in html
    assert f'href="{base}/qr.svg" download="link-{link["id"]}-qr.svg"' in html
    assert f'href="{base}/qr.png?scale=16" download="link-{link["id"]}-qr.png"' in html
    assert link["url"] in html and 'data-sub="sub1">poster' in html
    assert f'href="/console/me/links/{link["id"]}"' in client.get("/console/me").get_data(
        as_text=True
    )

    png = client.get(f"{base}/qr.png?scale=16")
    assert png.status_code == 200 and png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png.data)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert [code.text for code in decoded] == [link["url"]]
    api_png = api.call("GET", f"/api/v1/links/{link['id']}/qr.png?scale=16", token=world["alice"])
    assert png.data == api_png.data
    svg = client.get(f"{base}/qr.svg")
    assert svg.mimetype == "image/svg+xml"
    assert svg.data == api.call("GET", f"/api/v1/links/{link['id']}/qr.svg").data
    # Cached privately, as the API's, yet still under the console's CSP and varying by session.
    assert svg.headers["Cache-Control"] == "private, max-age=86400"
    assert "script-src 'self'" in svg.headers["Content-Security-Policy"]
    assert "Cookie" in svg.headers["Vary"]
    assert client.get(base).headers["Cache-Control"] == "no-store"


def test_the_console_serves_the_same_clicks_csv_as_the_api(
    client: Any, world: dict, api: Api
) -> None:
    link = api.link(world["alice"])
    client.get(f"/r/{link['token']}", headers={"User-Agent": DESKTOP_CHROME})
    sign_in(client, world["alice"])

    mine = client.get(f"/console/me/links/{link['id']}/clicks.csv")
    theirs = api.call("GET", f"/api/v1/links/{link['id']}/clicks", token=world["alice"])

    assert mine.status_code == 200
    assert mine.get_data(as_text=True) == theirs.get_data(as_text=True)
    assert mine.get_data(as_text=True).count("\r\n") == 2


def test_a_bad_scale_is_refused_on_the_page(client: Any, world: dict, api: Api) -> None:
    link = api.link(world["alice"])
    sign_in(client, world["alice"])
    for scale in ("0", "41", "x"):
        answer = client.get(f"/console/me/links/{link['id']}/qr.png?scale={scale}")
        assert answer.status_code == 422
        assert "scale" in answer.get_data(as_text=True)


def test_another_creators_link_is_not_found_and_the_pages_are_for_creators(
    app: Any, client: Any, world: dict, api: Api
) -> None:
    theirs = api.link(world["bob"])
    base = f"/console/me/links/{theirs['id']}"
    paths = [base, f"{base}/qr.svg", f"{base}/qr.png", f"{base}/clicks.csv"]
    for path in paths:  # signed out: to sign-in
        assert client.get(path).headers["Location"].startswith("/console/sign-in")
    sign_in(client, world["alice"])
    for path in [*paths, "/console/me/links/nonsense/qr.png"]:
        assert client.get(path).status_code == 404, path
    admin = app.test_client()
    sign_in(admin, ADMIN_TOKEN)
    assert admin.get(base).status_code == 403


def test_a_disabled_link_offers_no_qr_code_to_hand_out(client: Any, world: dict, api: Api):
    link = api.link(world["alice"])
    api.ok("DELETE", f"/api/v1/links/{link['id']}", token=world["alice"])
    sign_in(client, world["alice"])
    html = client.get(f"/console/me/links/{link['id']}").get_data(as_text=True)
    assert 'class="qr"' not in html
    assert "不再提供二维码" in html
