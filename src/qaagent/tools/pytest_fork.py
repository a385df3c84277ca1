"""Fork mode of a split pytest suite: the request the `qaagent_fork` plugin reads, and the
parts it ran as, read back as segments of the task."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from qaagent.model.outcomes import TaskOutcome
from qaagent.model.results import Segment
from qaagent.model.task import ForkParts

FORK_PLUGIN = "qaagent_fork"
FORK_VARIABLE = "QAAGENT_PYTEST_FORK"
FORK_FILE = "fork.json"
PARTS_FOLDER = "parts"
PARTS_FILE = "parts.json"
FIRST_ATTEMPT = "attempt-1"
FORK_GRACE = 5.0
ENDINGS = {"timed-out": TaskOutcome.timed_out, "crashed": TaskOutcome.error}
EXITS = {0: TaskOutcome.passed, 5: TaskOutcome.passed, 1: TaskOutcome.failed}


def fork_supported() -> bool:
    """Forking after collection is offered on Linux only."""
    return sys.platform.startswith("linux")


def write_fork_request(fork: ForkParts, attempt_dir: Path) -> Path:
    """The plugin's request: where the parts write, their labels, tests or groups, timeout."""
    request = {
        "folder": str(attempt_dir / PARTS_FOLDER),
        "labels": list(fork.labels),
        "parts": None if fork.tests is None else [list(ids) for ids in fork.tests],
        "groups": [list(ids) for ids in fork.groups],
        "timeout": fork.timeout,
    }
    path = attempt_dir / FORK_FILE
    path.write_text(json.dumps(request), encoding="utf-8")
    return path


def fork_segments(output_dir: Path) -> list[Segment]:
    """Each part of the first attempt as a segment: its times, how it ended and its log."""
    summary = output_dir / FIRST_ATTEMPT / PARTS_FOLDER / PARTS_FILE
    try:
        parts = json.loads(summary.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return [_segment(part) for part in parts]


def _segment(part: dict[str, object]) -> Segment:
    """One part's line of `parts.json` as a segment."""
    ending, code = str(part["ending"]), part.get("exit_code")
    outcome = ENDINGS.get(ending) or EXITS.get(code if isinstance(code, int) else -1)
    return Segment(
        label=str(part["label"]),
        started_at=_moment(part["started_at"]),
        finished_at=_moment(part["finished_at"]),
        outcome=outcome or TaskOutcome.error,
        log_path=Path(str(part["log"])),
    )


def _moment(seconds: object) -> datetime:
    """A UNIX time as an aware datetime."""
    return datetime.fromtimestamp(float(str(seconds)), tz=UTC)
