"""The eval cases as they end, one JSON line each, in the file qaagent names in $QAAGENT_EVENTS.

qaagent shows these lines live (`test-finished` events, the board) while the suite runs; its
JUnit stays the record. Without the variable nothing is written, and a file that cannot be
written never stops the evals.
"""

from __future__ import annotations

import json
import os
from typing import Any

FEED_VARIABLE = "QAAGENT_EVENTS"


class LiveFeed:
    """Appends each line with a single write, so lines from several threads never interleave."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path if path is not None else os.environ.get(FEED_VARIABLE)

    def write(self, **fields: Any) -> None:
        """One JSON line, ASCII only, flushed as it is written."""
        if not self.path:
            return
        line = json.dumps({key: value for key, value in fields.items() if value is not None})
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError:
            self.path = None
            return
        try:
            os.write(descriptor, f"{line}\n".encode("ascii"))
        except OSError:
            self.path = None
        finally:
            os.close(descriptor)
