"""``redirector simulate``: run a simulation, compare, and print the summary."""

from __future__ import annotations

import os
import time
from contextlib import suppress
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .driver import Simulation
from .options import Options, SimulationError, SimulationResult
from .service import embedded_service, interruptible

__all__ = ["fen", "render_summary", "run", "simulate"]


def simulate(
    options: Options, base_url: str, admin_token: str, console: Console | None = None
) -> SimulationResult:
    """Run the simulation against a service and compare; nothing is printed
    but the progress bar (unless ``options.quiet``)."""
    started = time.monotonic()
    sim = Simulation(options, base_url, admin_token)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("hours · {task.fields[clicks]} clicks · {task.fields[orders]} orders"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        disable=options.quiet,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def advance(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(phase, total=total, clicks=0, orders=0)
        label = f"day {min(done // 24 + 1, options.days)}" if phase == "traffic" else phase
        progress.update(
            tasks[phase],
            description=f"{label:>9}",
            completed=done,
            total=max(total, done),
            clicks=sim.counts["clicks"] + sim.counts["bot_clicks"],
            orders=sim.counts["orders"],
        )

    try:
        with progress:
            sim.setup()
            sim.run(advance)
            return sim.compare(started)
    finally:
        sim.pool.shutdown(wait=True)


def fen(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount) / 100:,.2f}"


def render_summary(result: SimulationResult, console: Console) -> None:
    table = Table(
        title=(
            f"redirector simulate · run {result.run_id} · {result.days} days from "
            f"{result.start.isoformat()} · periods {', '.join(result.periods)}"
        ),
        title_justify="left",
    )
    table.add_column("")
    table.add_column("figure")
    table.add_column("simulator", justify="right")
    table.add_column("API", justify="right")
    table.add_column("", justify="center")
    for row in result.rows:
        show = fen if row.money else (lambda n: f"{n:,}")
        table.add_row(
            row.section,
            row.label,
            show(row.simulated),
            show(row.reported) if row.reported is not None else "",
            ("[green]✓[/]" if row.agrees else "[red]✗[/]") if row.compared else "",
        )
    console.print(table)
    _render_review(result, console)
    _render_notes(result, console)


def _render_review(result: SimulationResult, console: Console) -> None:
    """The review against the run's ground truth, and its figures."""
    figures = result.review_figures
    if figures is None:
        return
    table = Table(
        title=f"click-fraud review · seed {result.seed} · held by the service, against the "
        "fraud the run injected",
        title_justify="left",
    )
    for name in ("", "orders of", "orders", "held", "stopped", "commission earned"):
        table.add_column(name, justify="left" if name in ("", "orders of") else "right")
    for line in result.review:
        truth, _, what = line.label.partition(": ")
        table.add_row(
            truth,
            what,
            f"{line.orders:,}",
            f"{line.held:,}",
            "" if line.stopped is None else f"{line.stopped:,}",
            fen(line.earned),
        )
    console.print(table)
    console.print(
        f"review: precision {figures.precision:.3f} ({figures.held_fraud} of {figures.held} "
        f"held orders are fraud), recall {figures.recall:.3f} ({figures.stopped} of "
        f"{figures.fraud} fraudulent orders stopped), legitimate live-stream crowd orders "
        f"held {figures.crowd_held}, other legitimate held {figures.live_held} live + "
        f"{figures.other_held} others · seed {result.seed}",
        soft_wrap=True,
    )


def _render_notes(result: SimulationResult, console: Console) -> None:
    """What disagreed, what was refused, what departs from the docs, and the verdict."""
    for text in result.mismatches[:30]:
        console.print(f"[red]mismatch[/] {text}")
    if len(result.mismatches) > 30:
        console.print(f"[red]... and {len(result.mismatches) - 30} more mismatches[/]")
    for text in result.errors:
        console.print(f"[red]refused[/] {text}")
    for text in result.findings:
        console.print(f"[yellow]finding[/] {text}")
    clicks = result.value("clicks (human)") + result.value("bot clicks")
    verdict = (
        "[green]the simulator's books equal the link stats and the statements[/]"
        if result.agrees
        else "[red]the simulator's books and the API disagree[/]"
    )
    console.print(
        f"{verdict}: {clicks:,} clicks and {result.value('orders paid'):,} orders in "
        f"{result.seconds:.1f} s ({result.requests:,} requests); clock now "
        f"{result.final_clock.isoformat()}",
        soft_wrap=True,
    )


def run(
    options: Options, *, keep_serving: bool = False, console: Console | None = None
) -> SimulationResult:
    """The whole command: start a service if no URL was given, simulate, print
    the summary, and (``keep_serving``) leave the service up until Ctrl-C."""
    out = console or Console()
    if options.url:
        token = options.admin_token or os.environ.get("REDIRECTOR_ADMIN_TOKEN", "")
        if not token:
            raise SimulationError(
                "an admin token is needed: pass --admin-token or set REDIRECTOR_ADMIN_TOKEN"
            )
        result = simulate(options, options.url, token)
        render_summary(result, out)
        return result
    with interruptible(), embedded_service() as (base, token, proc):
        result = simulate(options, base, token)
        render_summary(result, out)
        if keep_serving:
            out.print(f"serving at {base} (admin token: {token}); Ctrl-C to stop", soft_wrap=True)
            with suppress(KeyboardInterrupt):
                proc.wait()
        return result
