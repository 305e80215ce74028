"""Paging numbers: every offset and limit, in the API and on console pages, is a
whole number in its range or a 422 naming it; never a 500, never another page."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from redirector import paging
from redirector.errors import InvalidField

from .conftest import ADMIN_TOKEN, Api, error_of
from .test_console import sign_in

BAD_NUMBERS = ["99999999999999999999", "1000001", "-1", "abc", "1e3", "\uff11", "٣", "²", " 5"]


@pytest.mark.parametrize("offset", BAD_NUMBERS)
def test_a_console_offset_out_of_range_or_not_a_number_is_422(
    client: Any, world: dict, offset: str
) -> None:
    sign_in(client, ADMIN_TOKEN)
    response = client.get("/console/admin/links", query_string={"offset": offset})
    assert response.status_code == 422
    assert "offset: must be a whole number from 0 to 1000000" in response.get_data(as_text=True)


@pytest.mark.parametrize("limit", [*BAD_NUMBERS, "0", "501"])
def test_a_leaderboard_page_limit_out_of_range_or_not_a_number_is_422(
    client: Any, world: dict, limit: str
) -> None:
    response = client.get("/leaderboard", query_string={"limit": limit})
    assert response.status_code == 422
    assert "limit: must be a whole number from 1 to 500" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/links?offset=99999999999999999999", "offset"),
        ("/api/v1/links?offset=-1", "offset"),
        ("/api/v1/links?limit=99999999999999999999", "limit"),
        ("/api/v1/links?limit=0", "limit"),
        ("/api/v1/leaderboard?limit=99999999999999999999", "limit"),
        ("/api/v1/leaderboard?limit=abc", "limit"),
    ],
)
def test_an_api_paging_number_out_of_range_is_422(api: Api, path: str, name: str) -> None:
    error = error_of(api.admin("GET", path), 422)
    assert [f["field"] for f in error["fields"]] == [name]


def test_pages_in_range_still_page(client: Any, world: dict, api: Api) -> None:
    for _ in range(3):
        api.link(world["bob"])
    sign_in(client, ADMIN_TOKEN)
    assert client.get("/console/admin/links?offset=0").status_code == 200
    assert client.get("/console/admin/links?offset=").status_code == 200  # empty: the default
    assert client.get("/console/admin/links?offset=1000000").status_code == 200
    assert client.get("/leaderboard?limit=500").status_code == 200
    page = api.ok("GET", "/api/v1/links?offset=1&limit=1")
    assert len(page["links"]) == 1 and page["next_offset"] == 2


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.none(), st.text(max_size=30), st.integers().map(str)))
def test_a_paging_number_is_in_range_or_refused_naming_it(text: str | None) -> None:
    try:
        value = paging.offset(text)
    except InvalidField as exc:
        assert exc.details["fields"][0]["field"] == "offset"
        return
    assert 0 <= value <= paging.MAX_OFFSET
    assert value == (int(text) if text else 0)
