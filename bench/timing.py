"""The one timing helper every benchmark uses."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def measure(fn: Callable[[], object], rounds: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after one warm-up call (fonts, models)."""
    fn()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000
