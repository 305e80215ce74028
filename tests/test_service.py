"""Running the service: health and metrics endpoints, the API's own documents,
settings from the environment, and the ``redirector serve`` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from redis.backoff import NoBackoff
from redis.retry import Retry

import redirector.cli
from redirector import create_app
from redirector.config import Settings
from redirector.errors import ConfigError

from .conftest import DESKTOP_CHROME, SECRET_KEYS
from .servers import free_port

LONG_KEY = "a-signing-key-long-enough-0123456789"


def sample(text: str, name: str, labels: str = "") -> float:
    """The value of one sample in Prometheus text, 0 when it is not there yet."""
    pattern = re.compile(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", re.MULTILINE)
    match = pattern.search(text)
    return float(match.group(1)) if match else 0.0


# -- health and metrics --------------------------------------------------------------


def test_liveness_and_readiness_answer_ok(client: Any) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ok"


def test_readiness_fails_when_the_store_is_unreachable(settings: Settings) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    client = create_app(settings, store=down, test_config={"TESTING": True}).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["Retry-After"]


def test_metrics_count_a_redirect(api: Any) -> None:
    world = api.world()
    link = api.link(world["alice"])
    human = ("redirector_clicks_total", '{outcome="human"}')

    before = api.client.get("/metrics")
    assert before.status_code == 200
    assert before.content_type.startswith("text/plain")
    text = before.get_data(as_text=True)
    assert "# TYPE redirector_clicks_total counter" in text
    assert "# TYPE redirector_request_seconds histogram" in text

    assert api.client.get(link["url"], headers={"User-Agent": DESKTOP_CHROME}).status_code == 302

    after = api.client.get("/metrics").get_data(as_text=True)
    assert sample(after, *human) == sample(text, *human) + 1


# -- the API's documents -------------------------------------------------------------


def test_the_openapi_document_describes_the_api(client: Any) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert {
        "/api/v1/agencies/{agency_id}",
        "/api/v1/creators/{creator_id}",
        "/api/v1/creators/{creator_id}/api-key",
        "/api/v1/storefronts/{storefront_id}",
        "/api/v1/products/{product_id}",
        "/api/v1/products",
        "/api/v1/programs",
        "/api/v1/links",
        "/api/v1/links/{link_id}",
    } <= set(doc["paths"])

    invalid = doc["paths"]["/api/v1/products/{product_id}"]["put"]["responses"]["422"]
    ref = invalid["content"]["application/json"]["schema"]["$ref"]
    schemas = doc["components"]["schemas"]
    error = schemas[ref.rsplit("/", 1)[-1]]
    detail_ref = error["properties"]["error"]["$ref"]
    detail = schemas[detail_ref.rsplit("/", 1)[-1]]
    assert {"code", "message", "fields"} <= set(detail["properties"])


def test_the_docs_page_is_html(client: Any) -> None:
    response = client.get("/docs", follow_redirects=True)
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    assert "<html" in response.get_data(as_text=True).lower()


# -- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIRECTOR_TIMEZONE": "Nowhere/Land"}, "REDIRECTOR_TIMEZONE"),
        ({"REDIRECTOR_CLOCK": "sometimes"}, "REDIRECTOR_CLOCK"),
        ({"REDIRECTOR_CURRENCY": "yuan"}, "REDIRECTOR_CURRENCY"),
        ({"REDIS_URL": "http://x", "REDIRECTOR_SECRET_KEYS": LONG_KEY}, "REDIS_URL"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "REDIRECTOR_SECRET_KEYS"),
        ({"REDIRECTOR_SECRET_KEYS": f"{LONG_KEY},short"}, "REDIRECTOR_SECRET_KEYS"),
    ],
    ids=["timezone", "clock", "currency", "redis url", "keys missing", "key too short"],
)
def test_a_bad_setting_is_one_line_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


def test_with_nothing_set_the_service_runs_embedded_with_generated_secrets() -> None:
    settings = Settings.from_env({})
    assert settings.embedded
    assert len(settings.admin_token) >= 16
    assert settings.secret_keys and all(len(k) >= 16 for k in settings.secret_keys)
    assert Settings.from_env({}).admin_token != settings.admin_token
    assert (settings.timezone.key, settings.currency, settings.clock) == (
        "Asia/Shanghai",
        "CNY",
        "real",
    )
    assert "embedded" in settings.store_description


# -- the command ------------------------------------------------------------------------


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command reads os.environ: start it from no redirector settings at all."""
    import os

    for name in list(os.environ):
        if name.startswith(("REDIRECTOR_", "REDIS_")):
            monkeypatch.delenv(name)


def test_serve_stops_on_a_bad_setting_with_one_line(
    bare_environment: None, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    def never(*args: Any) -> None:
        raise AssertionError("gunicorn must not start on a bad setting")

    monkeypatch.setattr(redirector.cli, "run_gunicorn", never)
    result = runner.invoke(
        redirector.cli.main, ["serve"], env={"REDIRECTOR_TIMEZONE": "Nowhere/Land"}
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "REDIRECTOR_TIMEZONE" in lines[0]
    assert result.stdout == ""


def test_serve_starts_gunicorn_with_the_settings(
    bare_environment: None, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    started: list[tuple[Settings, dict[str, Any]]] = []
    delivering: list[bool] = []

    def run_gunicorn(s: Settings, o: dict[str, Any], postbacks: bool = False) -> None:
        started.append((s, o))
        delivering.append(postbacks)

    monkeypatch.setattr(redirector.cli, "run_gunicorn", run_gunicorn)
    result = runner.invoke(
        redirector.cli.main,
        ["serve", "--port", "8099"],
        # None: restored afterwards, since serve hands generated secrets to workers
        # through the environment.
        env={"REDIRECTOR_ADMIN_TOKEN": None, "REDIRECTOR_SECRET_KEYS": None},
    )
    assert result.exit_code == 0, result.output
    assert delivering == [True]  # its workers deliver postbacks unless --no-postbacks
    [(settings, options)] = started
    assert settings.embedded
    assert options["bind"] == "127.0.0.1:8099"
    assert options["workers"] == 1


def test_the_embedded_store_runs_one_worker_and_redis_several(tmp_path: Path) -> None:
    embedded = Settings.from_env({})
    assert redirector.cli.gunicorn_options(embedded, "127.0.0.1", 8000)["workers"] == 1

    on_redis = Settings.from_env(
        {
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
            "REDIRECTOR_SPOOL_DIR": str(tmp_path / "spool"),
        }
    )
    assert redirector.cli.gunicorn_options(on_redis, "127.0.0.1", 8000)["workers"] >= 2
    chosen = on_redis.with_overrides(workers=3)
    options = redirector.cli.gunicorn_options(chosen, "::1", 8000)
    assert (options["workers"], options["bind"]) == (3, "[::1]:8000")


def test_a_generated_admin_token_is_handed_to_workers_and_shown_once() -> None:
    settings = Settings.from_env({})
    env: dict[str, str] = {}
    notes = redirector.cli.prepare_environment(settings, env)

    assert env["REDIRECTOR_ADMIN_TOKEN"] == settings.admin_token
    assert env["REDIRECTOR_SECRET_KEYS"] == ",".join(settings.secret_keys)
    assert sum(settings.admin_token in note for note in notes) == 1
    assert not any(key in note for note in notes for key in settings.secret_keys)

    # When the operator set the token, it is neither replaced nor printed.
    given = {"REDIRECTOR_ADMIN_TOKEN": "operator-token-0123456789", "REDIRECTOR_SECRET_KEYS": "k"}
    kept = Settings.from_env({"REDIRECTOR_ADMIN_TOKEN": given["REDIRECTOR_ADMIN_TOKEN"]})
    assert redirector.cli.prepare_environment(kept, given) == []
    assert given["REDIRECTOR_ADMIN_TOKEN"] == "operator-token-0123456789"


def test_serve_says_in_its_first_line_that_it_runs_on_the_embedded_store() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIRECTOR_", "REDIS_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "redirector.cli", "serve", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(15)

    assert "embedded in-process store" in first
    assert "lost on exit" in first


def test_the_command_line_imports_no_prometheus_client_before_serve_sets_its_directory() -> None:
    """prometheus_client picks its storage when first imported: ``serve`` sets
    PROMETHEUS_MULTIPROC_DIR first, so nothing the CLI imports may import it."""
    import subprocess
    import sys

    probe = "import sys, redirector.cli; print('prometheus_client' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False"
