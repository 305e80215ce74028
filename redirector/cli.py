"""The ``redirector`` command: ``serve`` runs the service, ``worker`` delivers
postbacks on its own; ``reconcile``, ``reindex-orders``, ``library-reindex``,
``spool-adopt`` and ``simulate`` are tools beside them.

Commands are thin click wrappers over plain functions (Flask ships click).

Postbacks are delivered by a thread in each of ``serve``'s worker processes
(``deliver_postbacks``, gunicorn's ``post_worker_init``): the embedded store
lives in its one worker, so delivery must run there, and with Redis every
worker taking part costs a few commands a tick while leases keep them from
sending one attempt twice (docs/postbacks.md). ``serve --no-postbacks`` with
``redirector worker`` elsewhere moves delivery off the web hosts.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from . import config, library_index, orders, settlement, spool
from .config import Settings
from .errors import ConfigError
from .extension import context, context_of
from .periods import Period
from .store import connect

log = logging.getLogger("redirector")


# With group commit (``click_batches``) a worker's threads are what its batches
# are made of: fewer workers with more threads each send fewer, larger batches
# (docs/scaling.md, "Group commit").
GROUP_COMMIT_THREADS = 16


def worker_count(settings: Settings) -> int:
    if settings.embedded:
        return 1  # the embedded store lives in this one process
    per_core = 1 if settings.group_commit else 2
    return settings.workers or max(2, per_core * (os.cpu_count() or 1))


def thread_count(settings: Settings) -> int:
    if settings.embedded:
        return 8
    return GROUP_COMMIT_THREADS if settings.group_commit else 4


def gunicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": worker_count(settings),
        "worker_class": "gthread",
        "threads": thread_count(settings),
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "loglevel": settings.log_level,
        "accesslog": None,
        "errorlog": "-",
        "preload_app": False,
    }


_delivery: list[Any] = []  # this worker process's postbacks worker, once started


def deliver_postbacks(worker: Any) -> None:
    """gunicorn's ``post_worker_init``: this process delivers postbacks too."""
    from .postbacks import Worker

    _delivery.append(Worker(context_of(worker.wsgi)).start())


def stop_postbacks(server: Any, worker: Any) -> None:
    """gunicorn's ``worker_exit``: let an attempt in flight finish (or time out)."""
    for delivery in _delivery:
        delivery.stop(timeout=5)


def run_gunicorn(settings: Settings, options: dict[str, Any], postbacks: bool = False) -> None:
    """Run the service under gunicorn; with ``postbacks``, each worker delivers."""
    from gunicorn.app.base import BaseApplication

    if postbacks:
        options = {
            **options,
            "post_worker_init": deliver_postbacks,
            "worker_exit": stop_postbacks,
        }

    class Application(BaseApplication):
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
        # Workers sum their metrics through files here (see metrics.py); the
        # directory is removed when serve exits.
        metrics_dir = tempfile.mkdtemp(prefix="redirector-metrics-")
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    return notes


@click.group()
def main() -> None:
    """redirector: affiliate-link redirect and attribution server."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--postbacks/--no-postbacks",
    default=True,
    show_default=True,
    help="Deliver postbacks from the service's processes (off: run `redirector worker`).",
)
def serve(host: str, port: int, postbacks: bool) -> None:
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
    run_gunicorn(settings, options, postbacks=postbacks)


@main.command()
def worker() -> None:
    """Deliver postbacks until interrupted: dispatch the outbox and send what is
    due (with Redis; beside `serve`, or instead of its delivery threads)."""
    from .app import create_app  # lazy, as in run_gunicorn: see redirector/__init__.py
    from .postbacks import Worker

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        click.echo(f"redirector: configuration error: {exc}", err=True)
        sys.exit(2)
    if settings.embedded:
        click.echo(
            f"redirector: the embedded store lives in serve's process, which delivers; "
            f"set {config.REDIS_URL} to run a worker",
            err=True,
        )
        sys.exit(2)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    delivery = Worker(context_of(create_app(settings)))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: delivery.stopping.set())
    log.info("redirector worker delivering postbacks from the %s", settings.store_description)
    delivery.run()


@main.command()
@click.argument("period")
def reconcile(period: str) -> None:
    """Recompute PERIOD (YYYY-MM) from the order records and report any
    difference from the stored aggregates (exit 1 if there is one)."""
    from .app import create_app  # lazy, as in run_gunicorn: see redirector/__init__.py

    try:
        settings = Settings.from_env()
        parsed = Period.parse(period)
    except (ConfigError, ValueError) as exc:
        click.echo(f"redirector: {exc}", err=True)
        sys.exit(2)
    app = create_app(settings)
    with app.app_context():
        differences = settlement.reconcile(context(), parsed)
    if not differences:
        click.echo(f"{parsed}: the aggregates equal a recomputation from the orders")
        return
    for d in differences:
        click.echo(f"{parsed} {d.where} {d.field}: stored {d.stored}, recomputed {d.recomputed}")
    sys.exit(1)


@main.command("reindex-orders")
def reindex_orders() -> None:
    """Place the orders written before the order lists and the per-day money
    existed: each joins its lists, and its link's money by day is replayed from
    its history. Safe while the service runs; running it again changes nothing."""
    from .app import create_app  # lazy, as in run_gunicorn: see redirector/__init__.py

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        click.echo(f"redirector: {exc}", err=True)
        sys.exit(2)
    app = create_app(settings)
    with app.app_context():
        placed = orders.reindex(context())
    click.echo(f"{placed} order(s) placed in the lists; the others were there already")


@main.command("library-reindex")
def library_reindex() -> None:
    """Rebuild the product library's search indexes from the products (once,
    after upgrading from a version without them; harmless to run again)."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        click.echo(f"redirector: configuration error: {exc}", err=True)
        sys.exit(2)
    count = library_index.reindex_all(connect(settings))
    click.echo(f"{count} product(s) indexed")


@main.command("spool-adopt")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def spool_adopt(path: Path) -> None:
    """Sign the clicks in PATH so that the service replays them at its next
    start: an earlier version's spool file, or a rejected-*.jsonl. Only for
    lines you know this host's service wrote: each one will count."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        click.echo(f"redirector: configuration error: {exc}", err=True)
        sys.exit(2)
    if settings.embedded:
        click.echo(f"redirector: only a Redis deployment spools (set {config.REDIS_URL})", err=True)
        sys.exit(2)
    directory = spool.store_directory(
        settings.spool_dir, settings.redis_url, settings.redis_cluster_url
    )
    try:
        written, count = spool.adopt(path, directory, spool.LineSigner(settings.secret_keys))
    except ValueError as exc:
        click.echo(f"redirector: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{count} click(s) signed into {written}: replayed at the service's next start")


@main.command()
@click.option(
    "--url",
    help="Base URL of a running service (started with REDIRECTOR_CLOCK=mock). "
    "Without it, an embedded service is started for the run.",
)
@click.option(
    "--admin-token",
    envvar="REDIRECTOR_ADMIN_TOKEN",
    help="The service's admin token [default: $REDIRECTOR_ADMIN_TOKEN].",
)
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 366),
    help="Days of traffic to simulate.",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First simulated day, YYYY-MM-DD  [default: the 1st of this month, Asia/Shanghai].",
)
@click.option("--seed", default=1, show_default=True, help="Random seed: same seed, same run.")
@click.option("--creators", default=12, show_default=True, type=click.IntRange(1, 500))
@click.option(
    "--orders-per-day",
    default=40.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Target average of orders a day.",
)
@click.option("--run-id", help="Prefix of every slug and order id  [default: s<seed>].")
@click.option(
    "--close/--no-close",
    default=True,
    show_default=True,
    help="Close each period once it has ended.",
)
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Requests in flight within a simulated hour.",
)
@click.option(
    "--keep-serving",
    is_flag=True,
    help="With the embedded service: leave it running at the end, until Ctrl-C.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def simulate(
    url: str | None,
    admin_token: str | None,
    days: int,
    start: Any,
    seed: int,
    creators: int,
    orders_per_day: float,
    run_id: str | None,
    close: bool,
    concurrency: int,
    keep_serving: bool,
    quiet: bool,
) -> None:
    """Drive a service through a month of clicks and storefront orders, then
    compare the simulator's books with the link stats and statements (exit 1
    if they disagree)."""
    from . import simulate as simulation

    if keep_serving and url:
        raise click.UsageError("--keep-serving keeps the embedded service: drop --url")
    options = simulation.Options(
        url=url,
        admin_token=admin_token,
        days=days,
        start=start.date() if start else None,
        seed=seed,
        creators=creators,
        orders_per_day=orders_per_day,
        run_id=run_id,
        close_periods=close,
        concurrency=concurrency,
        quiet=quiet,
    )
    try:
        result = simulation.run(options, keep_serving=keep_serving)
    except simulation.SimulationError as exc:
        click.echo(f"redirector simulate: {exc}", err=True)
        sys.exit(2)
    sys.exit(0 if result.agrees else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
