"""Loaded into pytest with `-p`: records each test's node id, file and line as JUnit properties,
and, when asked, runs only the listed node ids, or all but the listed ones.

pytest's JUnit XML loses what its summary line counts, so two more properties say it: `outcome`
(`qaagent.outcome`) is the test's own result as pytest counts it (passed, failed, error, skipped,
xfailed, xpassed), apart from a teardown error, which pytest counts on its own; and a test that
failed has `line` moved from its first decorator to the failing line of the test file.

Properties go through `user_properties`, so this works beside any conftest of the project. The
node ids to run (or leave out) are read from the files named by QAAGENT_PYTEST_SELECT and
QAAGENT_PYTEST_EXCLUDE and matched exactly, which spares node ids with spaces or brackets any
quoting and does not depend on the folder pytest resolves command-line paths from.

With QAAGENT_PYTEST_COLLECT naming a file (and `--collect-only`), each collected test is written
there as a JSON line with what must keep it beside other tests when a suite is split: the
module, class or package its wider-scoped fixtures belong to, and its markers.

With QAAGENT_OUTPUT_DIR naming a folder, the seconds each test file took to import and collect
are written to `collection.json` there, once collection ends.

With QAAGENT_EVENTS naming a file, each test is appended there as it starts and as its outcome
is decided, one JSON line written at once (see `qaagent.model.live`), after the count of tests
collected. Under pytest-xdist the controller writes them, from the reports its workers send.
The feed never breaks the run: without the variable, or when the file cannot be written, the
plugin writes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SELECT_VARIABLE = "QAAGENT_PYTEST_SELECT"
EXCLUDE_VARIABLE = "QAAGENT_PYTEST_EXCLUDE"
COLLECT_VARIABLE = "QAAGENT_PYTEST_COLLECT"
FEED_VARIABLE = "QAAGENT_EVENTS"
OUTPUT_VARIABLE = "QAAGENT_OUTPUT_DIR"
COLLECTION_FILE = "collection.json"
MESSAGE_CHARS = 500
SHARED_SCOPES = ("package", "module", "class")
OUTCOME_PROPERTY = "qaagent.outcome"
LINE_PROPERTY = "line"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only the selected tests, then label every remaining one."""
    selection = os.environ.get(SELECT_VARIABLE)
    if selection:
        wanted = _node_ids(selection)
        _keep(config, items, lambda item: item.nodeid in wanted)
    exclusion = os.environ.get(EXCLUDE_VARIABLE)
    if exclusion:
        unwanted = _node_ids(exclusion)
        _keep(config, items, lambda item: item.nodeid not in unwanted)
    for item in items:
        path, line, _ = item.location
        item.user_properties.append(("nodeid", item.nodeid))
        item.user_properties.append(("file", path))
        if line is not None:
            item.user_properties.append((LINE_PROPERTY, str(line + 1)))
    collection = os.environ.get(COLLECT_VARIABLE)
    if collection:
        with Path(collection).open("w", encoding="utf-8") as stream:
            for item in items:
                stream.write(json.dumps(_description(item)) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Record the test's outcome and failing line, on this report too for the live feed."""
    made = yield
    report: pytest.TestReport = made.get_result()  # type: ignore[attr-defined]
    outcome = _outcome(report)
    if outcome is None:
        return
    _set_property(item, OUTCOME_PROPERTY, outcome)
    if report.failed:
        line = _failing_line(item, call)
        if line is not None:
            _set_property(item, LINE_PROPERTY, str(line))
    report.user_properties = list(item.user_properties)


def _outcome(report: pytest.TestReport) -> str | None:
    """The word pytest's summary counts the test under; None for a phase that decides nothing.

    A failed setup is the test's error; a teardown never decides it, since pytest counts a
    teardown error apart from the test's own result.
    """
    expected_to_fail = hasattr(report, "wasxfail")
    if report.when == "setup" and report.failed:
        return "error"
    if report.when == "teardown" or (report.when == "setup" and report.passed):
        return None
    if report.skipped:
        return "xfailed" if expected_to_fail else "skipped"
    if report.passed:
        return "xpassed" if expected_to_fail else "passed"
    return "failed"


def _failing_line(item: pytest.Item, call: pytest.CallInfo[None]) -> int | None:
    """1-based line of the innermost traceback entry in the test's own file, if any."""
    if call.excinfo is None:
        return None
    test_file = Path(str(item.fspath))
    for entry in reversed(call.excinfo.traceback):
        if Path(str(entry.path)) == test_file:
            return entry.lineno + 1
    return None


def _set_property(item: pytest.Item, name: str, value: str) -> None:
    """Replace the property `name`, or add it, so the JUnit XML holds it once."""
    kept = [(key, old) for key, old in item.user_properties if key != name]
    item.user_properties[:] = [*kept, (name, value)]


def _node_ids(path: str) -> set[str]:
    return set(Path(path).read_text(encoding="utf-8").splitlines())


def _keep(
    config: pytest.Config, items: list[pytest.Item], wanted: Callable[[pytest.Item], bool]
) -> None:
    """Deselect the items `wanted` rejects, telling pytest so it reports them as deselected."""
    deselected = [item for item in items if not wanted(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if wanted(item)]


def _description(item: pytest.Item) -> dict[str, object]:
    """Node id, the scopes of the shared fixtures it uses, and its marker names."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = getattr(info, "name2fixturedefs", {}) or {}
    scopes = sorted(
        {
            str(getattr(definition, "scope", ""))
            for stack in definitions.values()
            for definition in stack
        }
        & set(SHARED_SCOPES)
    )
    return {
        "nodeid": item.nodeid,
        "scopes": scopes,
        "markers": sorted({marker.name for marker in item.iter_markers()}),
    }


class LiveFeed:
    """Writes each test's start and result to the feed file as pytest reports them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.durations: dict[str, float] = {}
        self.collected = False
        self.part: str | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The count of tests that will run, after selection and deselection."""
        self.write_collected(len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        """Under xdist every worker collects the same tests; the first one's count is written."""
        self.write_collected(len(ids))

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        """The test began."""
        self.write({"event": "started", "test": nodeid})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """The test's result once a phase decides it; a teardown error is a line of its own."""
        spent = self.durations.get(report.nodeid, 0.0) + report.duration
        self.durations[report.nodeid] = spent
        outcome = "error" if report.when == "teardown" and report.failed else _outcome(report)
        if outcome is None:
            return
        duration = report.duration if report.when == "teardown" else spent
        self.write(_finished(report, outcome, duration))

    def write_collected(self, count: int) -> None:
        """The collected count, once."""
        if not self.collected:
            self.collected = True
            line: dict[str, object] = {"event": "collected", "count": count}
            if self.part is not None:
                line["part"] = self.part
            self.write(line)

    def write(self, line: dict[str, object]) -> None:
        """Append one line in a single write, so lines of parallel writers never interleave."""
        data = (json.dumps(line) + "\n").encode("ascii")
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError:
            return
        try:
            os.write(descriptor, data)
        except OSError:
            pass
        finally:
            os.close(descriptor)


def _finished(report: pytest.TestReport, outcome: str, duration: float) -> dict[str, object]:
    """A finished line: outcome, seconds, where the test is (or failed) and a short message."""
    properties = dict(report.user_properties)
    line: dict[str, object] = {
        "test": report.nodeid,
        "outcome": outcome,
        "duration": round(duration, 6),
        "file": properties.get("file", report.location[0]),
    }
    number = properties.get(LINE_PROPERTY)
    if isinstance(number, str) and number.isdigit():
        line["line"] = int(number)
    message = _message(report)
    if message:
        line["message"] = message
    return line


def _message(report: pytest.TestReport) -> str | None:
    """The first line of the crash message or skip reason, at most `MESSAGE_CHARS` long."""
    longrepr = report.longrepr
    if longrepr is None or report.passed:
        return None
    if isinstance(longrepr, tuple):
        text = str(longrepr[-1])
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = str(getattr(crash, "message", None) or longrepr)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:MESSAGE_CHARS] or None


class CollectionClock:
    """Times the collection of each test file (its import included) and writes the seconds,
    so qaagent can share a split suite's files out by what they cost to collect.

    The first test module a process imports also pays for what every later one shares (the
    package under test, say), which each part pays anyway; it is left unmeasured.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seconds: dict[str, float] = {}
        self.first_seen = False

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Iterator[None]:
        """A test module's seconds, from its import to its last test collected."""
        started = time.perf_counter()
        yield
        if isinstance(collector, pytest.Module):
            if self.first_seen:
                self.seconds[collector.nodeid] = round(time.perf_counter() - started, 6)
            self.first_seen = True

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self) -> None:
        """`{"tests/test_x.py": 0.31, ...}`; never breaks the run when it cannot be written."""
        if self.seconds:
            with contextlib.suppress(OSError):
                self.path.write_text(json.dumps(self.seconds), encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    """Follow the run live and time collection when qaagent runs pytest; never on an xdist
    worker."""
    if hasattr(config, "workerinput"):
        return
    path = os.environ.get(FEED_VARIABLE)
    if path:
        config.pluginmanager.register(LiveFeed(path), "qaagent-live-feed")
    output = os.environ.get(OUTPUT_VARIABLE)
    if output:
        clock = CollectionClock(Path(output) / COLLECTION_FILE)
        config.pluginmanager.register(clock, "qaagent-collection-clock")
