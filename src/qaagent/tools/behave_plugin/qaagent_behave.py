"""behave formatter that writes each scenario's start and result to qaagent's live feed.

Loaded by behave in the suite's own interpreter as `--format qaagent_behave:LiveFeedFormatter`,
so it imports nothing but the standard library and behave. It writes one JSON line per event to
the file named by `$QAAGENT_EVENTS`, and nothing at all when that variable is unset. A scenario
is named as behave's JUnit names its test case, so the feed and the JUnit report agree.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from behave.formatter.base import Formatter, StreamOpener
from behave.reporter.junit import JUnitReporter
from behave.runner_util import collect_feature_locations, parse_features

FEED_VARIABLE = "QAAGENT_EVENTS"
ERROR_STATUSES = {"error", "hook_error", "cleanup_error", "undefined", "pending"}
SKIPPED_STATUSES = {"skipped", "untested", "untested_pending", "untested_undefined"}
UNDEFINED_STEP_STATUSES = {"undefined", "pending", "untested_undefined", "untested_pending"}
PROBLEM_STEP_STATUSES = {"failed", *ERROR_STATUSES}


class LiveFeed:
    """Appends JSON lines to a file, one `write` each; gives up quietly when it cannot."""

    def __init__(self, path: str | None) -> None:
        self.descriptor: int | None = None
        if path:
            try:
                self.descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError:
                self.descriptor = None

    def write(self, **fields: Any) -> None:
        """One line, written whole, so lines of concurrent writers never interleave."""
        if self.descriptor is None:
            return
        line = json.dumps({key: value for key, value in fields.items() if value is not None})
        try:
            os.write(self.descriptor, f"{line}\n".encode("ascii"))
        except OSError:
            self.close()

    def close(self) -> None:
        """Release the file; later lines are dropped."""
        if self.descriptor is not None:
            descriptor, self.descriptor = self.descriptor, None
            with contextlib.suppress(OSError):
                os.close(descriptor)


class LiveFeedFormatter(Formatter):  # type: ignore[misc]
    """`started` when behave begins a scenario, `finished` once its after-hooks have run.

    behave tells a formatter only that the next scenario (or feature, or file) begins, so a
    scenario is reported finished then, when its status can no longer change.
    """

    name = "qaagent"
    description = "qaagent's live feed of scenario results ($QAAGENT_EVENTS)"

    def __init__(self, stream_opener: StreamOpener, config: Any) -> None:
        super().__init__(stream_opener, config)
        self.feed = LiveFeed(os.environ.get(FEED_VARIABLE))
        self.current: Any = None
        self.current_id = ""
        self.feature_name = ""
        self.seen: dict[str, int] = {}
        self.counted = False

    def feature(self, feature: Any) -> None:
        """A new feature: the last scenario of the previous one is over."""
        self.count_scenarios()
        self.finish_current()
        filename = JUnitReporter.make_feature_filename(self, feature)
        self.feature_name = f"{filename}.{feature.name or filename}"

    def scenario(self, scenario: Any) -> None:
        """The previous scenario is over; this one begins."""
        self.finish_current()
        self.current = scenario
        self.current_id = self.test_id(scenario)
        self.feed.write(event="started", test=self.current_id)

    def eof(self) -> None:
        """The feature file is done, and with it its last scenario."""
        self.finish_current()

    def close(self) -> None:
        """The run is over (or was stopped): report what ran and release the feed."""
        self.finish_current()
        self.feed.close()
        super().close()

    def finish_current(self) -> None:
        """The `finished` line of the scenario that was running, once."""
        scenario, self.current = self.current, None
        if scenario is None:
            return
        outcome = scenario_outcome(scenario)
        if outcome == "skipped" and not self.config.show_skipped:
            return
        step = problem_step(scenario)
        location = getattr(step, "location", None)
        self.feed.write(
            test=self.current_id,
            outcome=outcome,
            duration=round(max(float(scenario.duration or 0.0), 0.0), 6),
            file=getattr(location, "filename", None),
            line=getattr(location, "line", None),
            message=step_message(step) if step is not None else None,
        )

    def count_scenarios(self) -> None:
        """`collected`, once: the scenarios this run will execute, found as behave finds them.

        The runner has parsed every feature before the first one starts, but keeps them to
        itself; parsing them again from the same locations gives the same scenarios, of which
        those the tags and names select are counted. A feature that cannot be parsed leaves
        the count out rather than guess it.
        """
        if self.counted:
            return
        self.counted = True
        config = self.config
        try:
            locations = [
                location
                for location in collect_feature_locations(config.paths)
                if not config.exclude(location)
            ]
            features = parse_features(locations, language=config.lang)
        except Exception:  # a count is never worth breaking the run for
            return
        count = sum(
            1
            for feature in features
            if feature.should_run(config)
            for scenario in feature.walk_scenarios()
            if scenario.should_run(config)
        )
        self.feed.write(event="collected", count=count)

    def test_id(self, scenario: Any) -> str:
        """`<feature file, dotted>.<feature name>::<scenario name>`, as in behave's JUnit.

        qaagent numbers a name repeated in a run ` #2`, ` #3`, and so does the feed.
        """
        test_id = f"{self.feature_name}::{scenario.name or ''}"
        self.seen[test_id] = self.seen.get(test_id, 0) + 1
        occurrence = self.seen[test_id]
        return test_id if occurrence == 1 else f"{test_id} #{occurrence}"


def scenario_outcome(scenario: Any) -> str:
    """The outcome qaagent reads from behave's JUnit for this scenario's status."""
    status = scenario.status.name
    if status in ERROR_STATUSES:
        return "error"
    if status == "failed":
        return "failed"
    if status in SKIPPED_STATUSES:
        undefined = any(step.status.name in UNDEFINED_STEP_STATUSES for step in scenario.all_steps)
        return "failed" if undefined else "skipped"
    return "passed"


def problem_step(scenario: Any) -> Any:
    """The step that failed or could not run, if one did."""
    for step in scenario.all_steps:
        if step.status.name in PROBLEM_STEP_STATUSES:
            return step
    return None


def step_message(step: Any) -> str:
    """The first line of the step's error, or what kept it from running."""
    if step.exception is not None:
        text = str(step.exception).strip() or type(step.exception).__name__
        return text.splitlines()[0]
    if step.error_message:
        return str(step.error_message).strip().splitlines()[0]
    return f"{step.status.name.capitalize()} step: {step.keyword} {step.name}"
