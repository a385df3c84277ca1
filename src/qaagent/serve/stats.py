"""Queue statistics and the machine's resources, as `/queue/stats` and `/system/resources` show."""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import psutil

from qaagent.serve.states import ExecutionState
from qaagent.serve.store import ExecutionRecord

THROUGHPUT_WINDOW_SECONDS = 600.0


def queue_stats(records: Iterable[ExecutionRecord], now: float | None = None) -> dict[str, Any]:
    """Executions per state, wait and run seconds (p50, p95), and finished ones per minute."""
    now = time.time() if now is None else now
    rows = list(records)
    counts = Counter(record.state.value for record in rows)
    waits = [record.started - record.created for record in rows if record.started is not None]
    runs = [
        record.finished - record.started
        for record in rows
        if record.started is not None and record.finished is not None
    ]
    recent = [
        record
        for record in rows
        if record.finished is not None and now - record.finished <= THROUGHPUT_WINDOW_SECONDS
    ]
    return {
        "counts": {state.value: counts.get(state.value, 0) for state in ExecutionState},
        "wait_seconds": percentiles(waits),
        "run_seconds": percentiles(runs),
        "throughput_per_minute": round(len(recent) / (THROUGHPUT_WINDOW_SECONDS / 60), 3),
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    """The median and the 95th percentile; None when there are no values."""
    if not values:
        return {"p50": None, "p95": None}
    if len(values) == 1:
        return {"p50": round(values[0], 3), "p95": round(values[0], 3)}
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": round(statistics.median(values), 3), "p95": round(cuts[18], 3)}


def system_resources(tree_rss: Mapping[str, int]) -> dict[str, Any]:
    """CPU, memory and load of the machine, and the resident memory of each execution's tree."""
    memory = psutil.virtual_memory()
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": psutil.cpu_count(),
        "memory": {
            "total": memory.total,
            "available": memory.available,
            "percent": memory.percent,
        },
        "load_average": list(os.getloadavg()),
        "executions_rss": dict(tree_rss),
    }
