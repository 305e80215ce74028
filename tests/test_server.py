"""The real thing: ``redirector serve`` under gunicorn with several workers on a
real Redis, hit by a few thousand concurrent clicks. Every click answered 302
must be counted, exactly once."""

from __future__ import annotations

import http.client
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from .conftest import ADMIN_TOKEN, DESKTOP_CHROME, SECRET_KEYS
from .servers import redis_for_server, service

pytestmark = pytest.mark.server

CLICKS = 3000
THREADS = 32
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def admin(base: str, method: str, path: str, body: dict | None = None, token: str = ADMIN_TOKEN):
    response = requests.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def fire(base: str, path: str, count: int) -> list[int]:
    """``count`` GETs over one keep-alive connection; answers their statuses."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    statuses = []
    for _ in range(count):
        conn.request("GET", path, headers={"User-Agent": DESKTOP_CHROME})
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
    conn.close()
    return statuses


def test_concurrent_clicks_are_all_counted_exactly_once():
    with (
        redis_for_server() as store_env,
        service(
            {
                **store_env,
                "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
                "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
            }
        ) as base,
    ):
        admin(base, "PUT", "/api/v1/storefronts/shop", {"name": "Shop", "hosts": ["shop.test"]})
        admin(
            base,
            "PUT",
            "/api/v1/products/p1",
            {
                "storefront_id": "shop",
                "title": "Thing",
                "price": 100,
                "commission_rate_bps": 1000,
                "web_url": "https://shop.test/p/1?ref=x",
            },
        )
        key = admin(base, "PUT", "/api/v1/creators/c1", {"name": "C"})["api_key"]
        link = admin(base, "POST", "/api/v1/links", {"product_id": "p1", "channel": "weibo"}, key)
        path = urlsplit(link["url"]).path

        per_thread = CLICKS // THREADS
        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(lambda _: fire(base, path, per_thread), range(THREADS)))
        elapsed = time.perf_counter() - started
        statuses = [s for batch in results for s in batch]

        answered = statuses.count(302)
        assert answered == per_thread * THREADS, {s: statuses.count(s) for s in set(statuses)}
        stats = admin(base, "GET", f"/api/v1/links/{link['id']}")["stats"]
        # No cookie is sent back, so every click is a new device: unique too.
        assert stats["clicks"] == answered
        assert stats["unique_clicks"] == answered
        assert stats["bot_clicks"] == 0
        # Every worker's counter reaches /metrics (multiprocess mode set up by serve).
        metrics = requests.get(f"{base}/metrics", timeout=10).text
        human = re.search(r'^redirector_clicks_total\{outcome="human"\} ([\d.e+]+)$', metrics, re.M)
        assert human and int(float(human.group(1))) == answered, metrics[:500]

        rate = answered / elapsed
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "server-clicks.json").write_text(
            json.dumps(
                {"clicks": answered, "seconds": round(elapsed, 3), "per_second": round(rate)}
            )
        )
        print(f"\n{answered} concurrent clicks in {elapsed:.2f}s: {rate:.0f} clicks/s")
