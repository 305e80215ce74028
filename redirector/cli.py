"""The ``redirector`` command: ``serve`` runs the service.

Commands are thin click wrappers over plain functions (Flask ships click).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from typing import Any

import click

from . import config
from .config import Settings
from .errors import ConfigError

log = logging.getLogger("redirector")


def worker_count(settings: Settings) -> int:
    if settings.embedded:
        return 1  # the embedded store lives in this one process
    return settings.workers or max(2, 2 * (os.cpu_count() or 1))


def gunicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": worker_count(settings),
        "worker_class": "gthread",
        "threads": 8 if settings.embedded else 4,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "loglevel": settings.log_level,
        "accesslog": None,
        "errorlog": "-",
        "preload_app": False,
    }


def run_gunicorn(settings: Settings, options: dict[str, Any]) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)
            # gunicorn 27's control socket is one path per user: two services on
            # one host (tests, benchmarks) would fight over it, and we do not use it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from .app import create_app

            return create_app(settings)

    Application().run()


def prepare_environment(settings: Settings, env: dict[str, str]) -> list[str]:
    """Put generated secrets where every worker finds them; answers what to print."""
    notes = []
    if not env.get(config.ADMIN_TOKEN):
        env[config.ADMIN_TOKEN] = settings.admin_token
        notes.append(
            f"{config.ADMIN_TOKEN} was not set; this run's admin token (shown once): "
            f"{settings.admin_token}"
        )
    if not env.get(config.SECRET_KEYS):
        env[config.SECRET_KEYS] = ",".join(settings.secret_keys)
        notes.append(
            f"{config.SECRET_KEYS} was not set; links signed in this run stop verifying "
            "when it ends (set it to keep them)"
        )
    if not settings.embedded and "PROMETHEUS_MULTIPROC_DIR" not in env:
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="redirector-metrics-")
    return notes


@click.group()
def main() -> None:
    """redirector: affiliate-link redirect and attribution server."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Run the service (embedded store unless REDIS_URL is set)."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        click.echo(f"redirector: configuration error: {exc}", err=True)
        sys.exit(2)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    options = gunicorn_options(settings, host, port)
    log.info(
        "redirector starting on %s with the %s; %d worker(s)",
        options["bind"],
        settings.store_description,
        options["workers"],
    )
    for note in prepare_environment(settings, os.environ):  # type: ignore[arg-type]
        log.warning(note)
    if settings.clock == "mock":
        log.warning("the clock is a mock clock: admins can set it with PUT /api/v1/clock")
    run_gunicorn(settings, options)


@main.command()
@click.argument("period")
def reconcile(period: str) -> None:
    """Recompute PERIOD (YYYY-MM) from the order records and report any
    difference from the stored aggregates (exit 1 if there is one)."""
    from . import settlement
    from .app import create_app, services
    from .periods import Period

    try:
        settings = Settings.from_env()
        parsed = Period.parse(period)
    except (ConfigError, ValueError) as exc:
        click.echo(f"redirector: {exc}", err=True)
        sys.exit(2)
    app = create_app(settings)
    with app.app_context():
        differences = settlement.reconcile(services(), parsed)
    if not differences:
        click.echo(f"{parsed}: the aggregates equal a recomputation from the orders")
        return
    for d in differences:
        click.echo(f"{parsed} {d.where} {d.field}: stored {d.stored}, recomputed {d.recomputed}")
    sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
