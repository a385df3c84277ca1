"""The live test feed of one attempt: followed while the tool runs, and its tests kept.

The tool appends one JSON line per test to the file named by `$QAAGENT_EVENTS`; the loop that
supervises the tool reads the complete lines as they arrive and hands each to the task's
`on_test`. When the tool never
writes its JUnit XML (a timeout, a stop, a crash), the lines it left become the attempt's cases.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import ValidationError

from qaagent.logging import get_logger
from qaagent.model.live import LiveTest
from qaagent.model.outcomes import CaseStatus, TestCase
from qaagent.tools.junit import unique_ids

FEED_NAME = "live.jsonl"
POLL_SECONDS = 0.1


@dataclass
class FeedTests:
    """What the feed said so far: finished tests, the ones still running, the collected count."""

    finished: list[LiveTest] = field(default_factory=list)
    running: dict[str, float] = field(default_factory=dict)
    collected: int | None = None
    collected_per_part: dict[str, int] = field(default_factory=dict)

    def add(self, test: LiveTest) -> LiveTest:
        """Note one line: a count, a start (with when it was seen) or a finish; the line as counted.

        A part's count is added to the other parts', so the line handed on has the suite's.
        """
        if test.event == "collected" and test.part is not None and test.count is not None:
            self.collected_per_part[test.part] = test.count
            self.collected = sum(self.collected_per_part.values())
            return test.model_copy(update={"count": self.collected, "part": None})
        if test.event == "collected":
            self.collected = test.count
        elif test.event == "started" and test.test is not None:
            self.running[test.test] = time.monotonic()
        elif test.test is not None:
            self.running.pop(test.test, None)
            self.finished.append(test)
        return test

    @property
    def seen(self) -> bool:
        """Whether the tool reported any test at all."""
        return bool(self.finished or self.running)

    @property
    def not_run(self) -> int:
        """Tests collected that neither finished nor started; 0 when no count was given."""
        if self.collected is None:
            return 0
        seen = {test.test for test in self.finished} | set(self.running)
        return max(self.collected - len(seen), 0)

    def with_costs(self, cases: list[TestCase]) -> list[TestCase]:
        """Cases given the cost their finished line reported, once per test."""
        costs = {test.test: test.cost for test in self.finished if test.cost is not None}
        return [
            case.model_copy(update={"cost": costs[case.id]})
            if case.cost is None and case.id in costs
            else case
            for case in cases
        ]

    def cases(self, running_status: CaseStatus, message: str | None = None) -> list[TestCase]:
        """Finished tests as cases, then each running one with `running_status` and its time."""
        now = time.monotonic()
        finished = [_case(test) for test in self.finished]
        running = [
            TestCase(
                id=test_id,
                name=test_id,
                status=running_status,
                duration=now - since,
                message=message or f"{running_status.value} after {now - since:.1f}s",
            )
            for test_id, since in self.running.items()
        ]
        return unique_ids(finished + running)


class FeedFollower:
    """Follows a feed file at most every `POLL_SECONDS`, as `poll` is called, until the attempt ends.

    The process's supervising loop calls `poll`, so following costs no thread per attempt.
    Only complete lines are read; a line that is not a feed line is skipped, counted and
    logged once, so a tool that writes garbage never breaks the attempt.
    """

    def __init__(
        self,
        path: Path,
        on_test: Callable[[LiveTest], None] | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.on_test = on_test
        self.tests = FeedTests()
        self.malformed = 0
        self.clock = clock
        self._offset = 0
        self._pending = b""
        self._read_at = clock()

    def __enter__(self) -> FeedFollower:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.read_new_lines()

    def poll(self) -> None:
        """Read what arrived, when POLL_SECONDS have passed since the last read."""
        now = self.clock()
        if now - self._read_at >= POLL_SECONDS:
            self._read_at = now
            self.read_new_lines()

    def read_new_lines(self) -> None:
        """Hand on every complete line written since the last read; keep a partial one."""
        try:
            with self.path.open("rb") as stream:
                stream.seek(self._offset)
                chunk = stream.read()
        except OSError:
            return
        self._offset += len(chunk)
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            if line.strip():
                self._take(line)

    def _take(self, line: bytes) -> None:
        """One line to the tests seen and to `on_test`; a malformed one is only counted."""
        try:
            test = LiveTest.model_validate(json.loads(line))
        except (ValueError, ValidationError):
            self._malformed()
            return
        counted = self.tests.add(test)
        if self.on_test is not None:
            self.on_test(counted)

    def _malformed(self) -> None:
        """Count a line that is not a feed line; say so the first time only."""
        self.malformed += 1
        if self.malformed == 1:
            get_logger(__name__).warning("malformed live feed line skipped", feed=str(self.path))


def _case(test: LiveTest) -> TestCase:
    """A finished feed line as a test case; an outcome the feed does not know is an error."""
    status = CaseStatus(test.outcome) if test.outcome in set(CaseStatus) else CaseStatus.error
    return TestCase(
        id=test.test or "",
        name=test.test or "",
        file=test.file,
        line=test.line,
        status=status,
        duration=test.duration or 0.0,
        message=test.message,
        cost=test.cost,
    )
