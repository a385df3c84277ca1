"""Executions as the API and the dashboard show them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from qaagent.serve.store import ExecutionRecord


def execution_view(record: ExecutionRecord) -> dict[str, Any]:
    """An execution as the API shows it."""
    request = record.request["execution"]
    return {
        "id": record.id,
        "state": record.state.value,
        "profile": request["profile"],
        "priority": record.priority,
        "labels": record.labels,
        "counts": record.counts,
        "exit_code": record.exit_code,
        "error": record.error,
        "run_dir": record.run_dir,
        "created": _stamp(record.created),
        "started": _stamp(record.started),
        "finished": _stamp(record.finished),
        "wait_seconds": _between(record.created, record.started),
        "run_seconds": _between(record.started, record.finished),
        "requeued": record.requeued,
        "request": request,
        "notes": _notes(request),
        "notifications": record.notifications,
    }


def _notes(request: dict[str, Any]) -> list[str]:
    """What the client should know about how its request is carried out."""
    cpu = request["configuration"]["resource_limits"].get("cpu_percent")
    if cpu is None:
        return []
    return [f"resource_limits.cpu_percent {cpu} is advisory: qaagent does not enforce it."]


def _stamp(moment: float | None) -> str | None:
    """A Unix time as ISO 8601 in UTC."""
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()


def _between(start: float | None, end: float | None) -> float | None:
    """Seconds from start to end, when both are known."""
    return None if start is None or end is None else round(end - start, 3)
