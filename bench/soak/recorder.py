"""What the soak records as it goes: latencies per kind, counters, and problems
per check with a few examples of each."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

__all__ = ["PROBLEM_EXAMPLES", "Recorder", "percentile"]

PROBLEM_EXAMPLES = 8


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Recorder:
    """Latencies per kind, counters, and problems per check (with a few examples)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.counts: Counter[str] = Counter()
        self.problems: dict[str, int] = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.measuring = False  # latencies count from the end of the warm-up
        self.warmup_max: dict[str, float] = defaultdict(float)

    def time(self, kind: str, seconds: float) -> None:
        if self.measuring:
            self.latency[kind].append(seconds)  # list.append is atomic
        else:
            self.warmup_max[kind] = max(self.warmup_max[kind], seconds)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def problem(self, check: str, message: str) -> None:
        with self.lock:
            self.problems[check] += 1
            if len(self.examples[check]) < PROBLEM_EXAMPLES:
                self.examples[check].append(message)
