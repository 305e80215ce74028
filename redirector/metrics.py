"""Prometheus metrics: clicks by outcome, request latency, postback attempts.

Under gunicorn, ``redirector serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh directory before the workers start, so ``/metrics`` sums every worker.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

CLICKS = Counter(
    "redirector_clicks_total",
    "Redirect requests by outcome: human, bot, gone (410), not_found (404), unavailable (503).",
    ["outcome"],
)
REQUEST_SECONDS = Histogram(
    "redirector_request_seconds",
    "Time to answer a request, by route.",
    ["route"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

POSTBACK_ATTEMPTS = Counter(
    "redirector_postback_attempts_total",
    "Postback attempts by outcome: delivered, retry (due again later), failed (the last one).",
    ["outcome"],
)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
