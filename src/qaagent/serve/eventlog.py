"""An execution's events, read back from the `--events jsonl` file its child appends to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_events(path: Path, after: int = 0) -> list[dict[str, Any]]:
    """The complete events in the file whose `seq` is above `after`; none before it exists.

    A line still being written (no newline yet) is left for the next read.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    events = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("seq", 0) > after:
            events.append(event)
    return events
