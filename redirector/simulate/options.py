"""What a simulation is asked (``Options``) and what it answers (``SimulationResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from .shape import LOCAL_TZ

__all__ = [
    "Options",
    "ReviewFigures",
    "ReviewLine",
    "Row",
    "SimulationError",
    "SimulationResult",
]


class SimulationError(Exception):
    """The simulation cannot go on; the message is one line for the user."""


@dataclass(frozen=True)
class Options:
    url: str | None = None  # None: start an embedded service
    admin_token: str | None = None
    days: int = 30
    start: date | None = None  # None: first day of the current month in Asia/Shanghai
    seed: int = 1
    creators: int = 12
    orders_per_day: float = 40.0
    run_id: str | None = None  # None: derived from the seed
    close_periods: bool = True
    concurrency: int = 4
    quiet: bool = False

    @property
    def effective_run_id(self) -> str:
        return self.run_id or f"s{self.seed}"

    @property
    def effective_start(self) -> date:
        if self.start is not None:
            return self.start
        today = datetime.now(LOCAL_TZ).date()
        return today.replace(day=1)


@dataclass(frozen=True)
class Row:
    """One figure of the summary: the simulator's count and what the API reports."""

    label: str
    simulated: int
    reported: int | None  # None: the simulator's figure only
    money: bool = False
    section: str = ""

    @property
    def compared(self) -> bool:
        return self.reported is not None

    @property
    def agrees(self) -> bool:
        return self.reported is None or self.simulated == self.reported


@dataclass(frozen=True)
class ReviewFigures:
    """Precision and recall of the service's holds on the injected fraud."""

    held: int
    held_fraud: int
    fraud: int
    stopped: int
    crowd_held: int
    live_held: int
    other_held: int

    @property
    def precision(self) -> float:
        return self.held_fraud / self.held if self.held else 1.0

    @property
    def recall(self) -> float:
        return self.stopped / self.fraud if self.fraud else 1.0


@dataclass(frozen=True)
class ReviewLine:
    """One line of the review table."""

    label: str
    orders: int
    held: int  # by the service
    stopped: int | None  # fraud only: held, or not credited to the link it claims
    earned: int  # commission the service shows for them at the end (fen)


@dataclass
class SimulationResult:
    base_url: str
    run_id: str
    start: date
    days: int
    rows: list[Row]
    mismatches: list[str]  # per period and line, per link: what disagrees
    findings: list[str]  # what the service did that its docs say it should not
    errors: list[str]  # refused requests (first few)
    periods: list[str]
    seconds: float
    requests: int
    final_clock: datetime
    seed: int = 1
    review: list[ReviewLine] = field(default_factory=list)  # the review table
    review_figures: ReviewFigures | None = None

    @property
    def agrees(self) -> bool:
        return all(r.agrees for r in self.rows) and not self.mismatches and not self.errors

    def figures(self) -> dict[str, tuple[int, int | None]]:
        return {r.label: (r.simulated, r.reported) for r in self.rows}

    def value(self, label: str) -> int:
        return next(r.simulated for r in self.rows if r.label == label)
