"""What a tool says of each test while it runs: one JSON object per line in `$QAAGENT_EVENTS`.

qaagent's pytest plugin, behave formatter and Playwright reporter write these lines; a command
suite may write them too. A line is `{"test": "...", "outcome": "passed", "duration": 1.2}` for a
test that ended, `{"event": "started", "test": "..."}` for one that began, and
`{"event": "collected", "count": 20}` once the tool knows how many tests it will run (with
`"part": "..."` from each part of a suite run in parts, whose counts add up). JUnit,
when the tool writes it, stays the authority for the final counts; the feed shows the run live
and keeps what finished when the tool never gets to write its JUnit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FEED_VARIABLE = "QAAGENT_EVENTS"


class LiveTest(BaseModel):
    """One line of the feed: a test started or finished, or the count of tests collected."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event: Literal["collected", "started", "finished"] = "finished"
    test: str | None = Field(None, description="The test's id: a pytest node id, a scenario, ….")
    outcome: str | None = Field(
        None,
        description="passed, failed, error, skipped, xfailed or xpassed (finished lines only).",
    )
    duration: float | None = Field(None, ge=0, description="Seconds the test took.")
    file: str | None = None
    line: int | None = None
    message: str | None = Field(None, description="The failure's short message.")
    cost: float | None = Field(
        None, ge=0, description="What the test spent, as the suite counts it (tokens, calls)."
    )
    count: int | None = Field(None, ge=0, description="Tests collected (collected lines only).")
    part: str | None = Field(
        None, description="The part of the suite the count is for; the parts' counts add up."
    )
