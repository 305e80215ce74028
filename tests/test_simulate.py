"""``redirector simulate``: a few simulated days against a real ``redirector serve``
agree with the link stats and the statements, the same seed makes the same run,
and a service on the real clock is refused with one clear line."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from redirector import bots, fraud, simulate
from redirector.cli import main
from redirector.money import Split

from .servers import service

# own_store: each run has an embedded store of its own, whatever REDIS_URL says.
pytestmark = [pytest.mark.server, pytest.mark.own_store]

TOKEN = "simulate-admin-token-0123456789"
# Small, and across a month end: March closes on the fifth day, with the orders
# confirmed by then (so its close makes payouts), and refunds after it become
# adjustment lines in April.
SMALL = simulate.Options(
    admin_token=TOKEN,
    days=5,
    start=date(2026, 3, 27),
    seed=5,
    creators=5,
    orders_per_day=12,
    concurrency=3,
    quiet=True,
)


def mock_service(clock: str = "mock", **more: str) -> Iterator[str]:
    # REDIS_URL emptied: an embedded store of its own, even when the suite runs on Redis.
    # The click-fraud thresholds are the shipped ones: the books predict the review.
    env = {
        "REDIRECTOR_CLOCK": clock,
        "REDIRECTOR_ADMIN_TOKEN": TOKEN,
        "REDIS_URL": "",
        # Low, so that a few days' sales make payouts for the books to predict.
        "REDIRECTOR_MIN_PAYOUT": "500",
        "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE": "1",  # the simulator's receiver is on loopback
        **more,
    }
    with service(env, workers=1) as base:
        yield base


@pytest.fixture(scope="module")
def first() -> Iterator[tuple[str, simulate.SimulationResult]]:
    for base in mock_service():
        yield base, simulate.simulate(SMALL, base, TOKEN)


def test_a_few_days_agree_with_the_link_stats_and_the_statements(first) -> None:
    _, result = first
    assert result.errors == []
    assert result.mismatches == []
    assert [r.label for r in result.rows if not r.agrees] == []
    assert result.agrees
    assert result.periods == ["2026-03", "2026-04"]
    assert result.value("clicks (human)") > 100
    assert result.value("bot clicks") > 0
    assert result.value("orders paid") > 10
    assert result.value("orders settled") > 0
    assert result.value("still paid (unsettled)") == 0  # every order's lifecycle was played
    assert result.value("payouts made") > 0  # March's close paid some accounts
    # Every event the books expect reached the run's receiver, signed.
    assert result.value("postbacks expected") > result.value("orders paid") / 2
    assert result.findings == [] or all("postbacks" not in f for f in result.findings)


def test_the_review_holds_the_injected_fraud_and_no_crowd(first) -> None:
    """Against a service with the shipped thresholds: the books predicted every
    hold (the rows above agree), and the holds match the ground truth."""
    _, result = first
    figures = result.review_figures
    assert figures is not None
    lines = {line.label: line for line in result.review}
    assert lines["fraud: farm"].orders > 0 and lines["fraud: embed"].orders > 0
    assert lines["legitimate: live-stream crowds"].orders > 0
    assert figures.crowd_held == 0
    assert figures.precision >= 0.95, figures
    assert figures.recall >= 0.9, figures
    # The admin rejected what the run injected, through the API: it earns nothing.
    assert result.value("rejected orders") == figures.held_fraud > 0
    assert lines["fraud: farm"].earned == 0


def test_held_legitimate_orders_are_released_and_settle_as_the_books_say(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thresholds too strict for the crowds: legitimate orders are held too, the
    admin releases them, and they settle where the books say (or, a few, are
    refunded or cancelled while held)."""
    strict = tmp_path / "fraud.toml"
    strict.write_text("[flood]\nmax_new_per_address = 6\n")
    rules = fraud.load_fraud_rules(strict)
    monkeypatch.setattr(simulate.holds, "FraudRules", lambda: rules)
    for base in mock_service(REDIRECTOR_FRAUD=str(strict)):
        result = simulate.simulate(replace(SMALL, days=3, run_id="strict"), base, TOKEN)
    assert result.errors == [] and result.mismatches == [], (result.errors, result.mismatches)
    assert result.agrees
    assert result.value("released orders") > 0
    assert result.value("orders settled") > 0
    figures = result.review_figures
    assert figures is not None and figures.crowd_held + figures.live_held + figures.other_held > 0


def test_requests_come_from_the_devices_addresses() -> None:
    """Carrier NAT: a request bound to 127.x.y.z arrives from it (Linux loopback)."""
    import http.server
    import threading

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(self.client_address[0].encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = simulate.transport.Http(f"http://127.0.0.1:{server.server_port}", TOKEN)
        assert client.binds_sources
        seen = {client.request("GET", client.base, source).text for source in
                ("127.10.0.1", "127.11.0.3", "127.10.0.1")}  # fmt: skip
        assert seen == {"127.10.0.1", "127.11.0.3"}
        assert client.request("GET", client.base).text == "127.0.0.1"
    finally:
        server.shutdown()
    assert not simulate.network.loopback_binding("http://redirector.example:8000")


def test_the_same_seed_makes_the_same_run(first) -> None:
    _, result = first
    for base in mock_service():
        again = simulate.simulate(SMALL, base, TOKEN)
    assert again.figures() == result.figures()


def test_runs_share_a_service_through_their_run_ids(first) -> None:
    base, _ = first
    runner = CliRunner()
    args = ["simulate", "--url", base, "--days", "1", "--start", "2026-03-30", "--quiet"]
    small = ["--creators", "3", "--orders-per-day", "6"]
    # The admin token from the environment; March is already closed by the first run.
    env = {"REDIRECTOR_ADMIN_TOKEN": TOKEN}
    answer = runner.invoke(main, [*args, *small, "--run-id", "other"], env=env)
    assert answer.exit_code == 0, answer.output
    assert "equal the link stats and the statements" in answer.output

    again = runner.invoke(main, [*args, "--run-id", "other", "--admin-token", TOKEN])
    assert again.exit_code == 2
    assert "run id 'other' was used before" in again.output


def test_a_disagreement_is_reported(first, monkeypatch) -> None:
    base, _ = first
    # Books that give the whole commission to the network cannot match the statements.
    monkeypatch.setattr(
        simulate.books, "split_commission", lambda total, shares: Split(total, 0, 0)
    )
    options = replace(SMALL, days=1, creators=3, orders_per_day=10, run_id="tampered")
    result = simulate.simulate(options, base, TOKEN)
    assert not result.agrees
    assert {r.label for r in result.rows if not r.agrees} >= {"network fee", "platform", "guide"}
    assert any("network: simulator" in m for m in result.mismatches)


def test_a_postback_that_never_arrives_is_a_disagreement(first, monkeypatch) -> None:
    base, _ = first
    monkeypatch.setattr(simulate.hooks, "SETTLE_SECONDS", 1.0)
    receiver = simulate.hooks.Receiver

    def refusing_confirmations(**kw: Any) -> Any:
        return receiver(answer=lambda r: 500 if r.type == "order.confirmed" else 200, **kw)

    monkeypatch.setattr(simulate.hooks, "Receiver", refusing_confirmations)
    options = replace(SMALL, days=2, creators=3, orders_per_day=10, run_id="deaf")
    result = simulate.simulate(options, base, TOKEN)
    assert not result.agrees
    assert "postbacks expected" in {r.label for r in result.rows if not r.agrees}
    assert any("order.confirmed" in m and "never arrived" in m for m in result.mismatches)


def test_a_service_on_the_real_clock_is_refused_with_one_line() -> None:
    for base in mock_service(clock="real"):
        answer = CliRunner().invoke(
            main, ["simulate", "--url", base, "--admin-token", TOKEN, "--quiet"]
        )
    assert answer.exit_code == 2
    lines = answer.output.strip().splitlines()
    assert len(lines) == 1
    assert "REDIRECTOR_CLOCK=mock" in lines[0]


def test_user_agents_are_what_the_service_takes_them_for() -> None:
    rng = random.Random(3)
    for channel, mix in simulate.CONTEXT_MIX.items():
        assert abs(sum(mix.values()) - 1) < 1e-9, channel
        for context in mix:
            app, _, platform = context.partition("/")
            for _ in range(10):
                agent = bots.classify_user_agent(simulate.human_user_agent(rng, context))
                assert agent.bot is None, context
                assert agent.app == (None if app == "browser" else app), context
                assert agent.mobile == (platform != "desktop"), context
    for _ in range(200):
        request = simulate.bot_request(rng)
        agent = bots.classify_user_agent(request.user_agent)
        headers = dict(request.headers)
        flagged = (
            agent.bot is not None
            or request.method == "HEAD"
            or bots.is_prefetch(headers.get("Purpose"), headers.get("Sec-Purpose"))
        )
        assert flagged, request
        if request.kind in ("crawler", "preview"):
            assert agent.bot == request.kind, request.user_agent
