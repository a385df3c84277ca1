"""behave's formatter and Playwright Test's reporter write the live feed as the real tools run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from qaagent_process import environment
from test_playwright_runners import CHROMIUM, NODE_PROJECT, base_url, copy_project, node_modules

from qaagent.model.live import FEED_VARIABLE, LiveTest
from qaagent.model.outcomes import TestCase
from qaagent.model.task import Task
from qaagent.tools.attempts import AdapterDefaults, expand_argv, task_environment
from qaagent.tools.base import RunContext
from qaagent.tools.behave_tool import BehaveAdapter
from qaagent.tools.junit import parse_junit
from qaagent.tools.playwright_tool import PlaywrightNodeAdapter

__all__ = ["base_url", "node_modules"]  # the Playwright runners' fixtures, shared

BEHAVE_PROJECT = Path(__file__).parents[1] / "fixtures" / "behave_project"
EXAMPLE = Path(__file__).parents[2] / "examples" / "shop"
CASE_NAMES = (
    "teapot-price",
    "green-tea-price",
    "mug-category",
    "shipping",
    "welcome-coupon",
    "bulk-price",
    "tea-range",
    "not-sold",
)


def run_tool(
    adapter: AdapterDefaults, task: Task, context: RunContext, attempt_dir: Path, feed: Path | None
) -> tuple[list[TestCase], subprocess.CompletedProcess[str]]:
    """The tool run with the arguments qaagent gives it, its feed at `feed` (or none)."""
    attempt_dir.mkdir(parents=True)
    invocation = adapter.invocation(task, context, attempt_dir, [])
    env = task_environment(task, context, invocation, attempt_dir, 1)
    env.pop(FEED_VARIABLE, None)
    if feed is not None:
        env[FEED_VARIABLE] = str(feed)
    completed = subprocess.run(
        expand_argv(invocation.argv, env),
        cwd=invocation.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    junit = invocation.junit
    files = sorted(junit.glob("*.xml")) if junit.is_dir() else [junit]
    return parse_junit(files).cases, completed


def feed_lines(feed: Path) -> list[LiveTest]:
    """Every line of the feed, each checked to be ASCII JSON."""
    text = feed.read_bytes().decode("ascii")
    return [LiveTest.model_validate(json.loads(line)) for line in text.splitlines()]


def finished_outcomes(lines: list[LiveTest]) -> dict[str, str | None]:
    """Each finished test's outcome, by id."""
    return {line.test: line.outcome for line in lines if line.event == "finished" and line.test}


def assert_started_before_finished(lines: list[LiveTest]) -> None:
    """Every finished test was said to start earlier in the feed."""
    started: set[str | None] = set()
    for line in lines:
        if line.event == "started":
            started.add(line.test)
        elif line.event == "finished":
            assert line.test in started, line.test


def behave_task(project: Path, marker: Path) -> Task:
    """The behave suite of the copied fixture project."""
    return Task(
        name="behave",
        suite="behave",
        kind="behave",
        path=project / "features",
        cwd=project,
        env={"QAAGENT_FLAKY_MARKER": str(marker)},
        timeout=120,
    )


@pytest.fixture
def behave_project(tmp_path: Path) -> Path:
    """A copy of the behave fixture project, so runs never write into the repository."""
    return Path(shutil.copytree(BEHAVE_PROJECT, tmp_path / "project"))


def test_behave_feed_names_each_scenario_as_the_junit_does(
    behave_project: Path, tmp_path: Path
) -> None:
    feed = tmp_path / "live.jsonl"
    task = behave_task(behave_project, tmp_path / "marker")

    cases, _ = run_tool(
        BehaveAdapter(), task, RunContext(output_dir=tmp_path), tmp_path / "attempt", feed
    )

    lines = feed_lines(feed)
    assert finished_outcomes(lines) == {case.id: case.status.value for case in cases}
    assert len([line for line in lines if line.event == "finished"]) == len(cases) == 8
    assert lines[0].event == "collected"
    assert lines[0].count == 8
    assert_started_before_finished(lines)


def test_behave_feed_locates_the_failing_step_with_its_message(
    behave_project: Path, tmp_path: Path
) -> None:
    feed = tmp_path / "live.jsonl"
    task = behave_task(behave_project, tmp_path / "marker")

    run_tool(BehaveAdapter(), task, RunContext(output_dir=tmp_path), tmp_path / "attempt", feed)

    failed = next(line for line in feed_lines(feed) if line.outcome == "failed")
    assert (failed.test, failed.file, failed.line, failed.message) == (
        "calculator.Calculator::A wrong expectation fails",
        "features/calculator.feature",
        22,
        "expected 5.0, got 4.0",
    )
    assert failed.duration is not None


def test_behave_without_a_feed_writes_none_and_reports_the_same(
    behave_project: Path, tmp_path: Path
) -> None:
    context = RunContext(output_dir=tmp_path)
    fed_task = behave_task(behave_project, tmp_path / "fed-marker")
    unfed_task = behave_task(behave_project, tmp_path / "unfed-marker")

    with_feed, fed = run_tool(
        BehaveAdapter(), fed_task, context, tmp_path / "fed", tmp_path / "live.jsonl"
    )
    without_feed, unfed = run_tool(BehaveAdapter(), unfed_task, context, tmp_path / "unfed", None)

    assert [(case.id, case.status) for case in without_feed] == [
        (case.id, case.status) for case in with_feed
    ]
    assert unfed.returncode == fed.returncode
    assert sorted(path.name for path in tmp_path.rglob("*.jsonl")) == ["live.jsonl"]


def test_behave_runs_on_when_the_feed_cannot_be_written(
    behave_project: Path, tmp_path: Path
) -> None:
    task = behave_task(behave_project, tmp_path / "marker")
    unwritable = tmp_path / "no-such-folder" / "live.jsonl"

    cases, completed = run_tool(
        BehaveAdapter(), task, RunContext(output_dir=tmp_path), tmp_path / "attempt", unwritable
    )

    assert len(cases) == 8
    assert "Traceback" not in completed.stdout + completed.stderr
    assert not unwritable.exists()


def node_task(project: Path, tmp_path: Path) -> Task:
    """The @playwright/test suite of the copied fixture project."""
    return Task(
        name="playwright-node",
        suite="e2e",
        kind="playwright-node",
        path=project,
        cwd=project,
        env={"QAAGENT_FLAKY_MARKER": str(tmp_path / "marker")},
        timeout=180,
    )


def run_playwright(
    tmp_path: Path, base_url: str, node_modules: Path, feed: Path | None
) -> tuple[list[TestCase], subprocess.CompletedProcess[str]]:
    """The fixture's Playwright tests, run as qaagent runs them."""
    project = copy_project(NODE_PROJECT, tmp_path / "node")
    (project / "node_modules").symlink_to(node_modules)
    context = RunContext(output_dir=tmp_path, env={"BASE_URL": base_url}, chromium=CHROMIUM)
    adapter = PlaywrightNodeAdapter()
    return run_tool(adapter, node_task(project, tmp_path), context, tmp_path / "attempt", feed)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium executable")
def test_playwright_feed_names_each_test_as_the_junit_does(
    tmp_path: Path, base_url: str, node_modules: Path
) -> None:
    feed = tmp_path / "live.jsonl"

    cases, _ = run_playwright(tmp_path, base_url, node_modules, feed)

    lines = feed_lines(feed)
    assert lines[0].model_dump(exclude_none=True) == {"event": "collected", "count": 5}
    assert finished_outcomes(lines) == {case.id: case.status.value for case in cases}
    assert len([line for line in lines if line.event == "finished"]) == len(cases) == 5
    assert_started_before_finished(lines)
    failed = finished_by_id(lines)["shop.spec.ts::fixture shop \u203a passes on the second run"]
    assert failed["outcome"] == "failed"
    assert failed["file"].endswith("shop.spec.ts")
    assert failed["line"] == 27
    assert failed["message"].startswith("first run fails on purpose")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium executable")
def test_playwright_without_a_feed_writes_none(
    tmp_path: Path, base_url: str, node_modules: Path
) -> None:
    cases, _ = run_playwright(tmp_path, base_url, node_modules, None)

    assert len(cases) == 5
    assert not list(tmp_path.rglob("*.jsonl"))


def finished_by_id(lines: list[LiveTest]) -> dict[str, dict[str, Any]]:
    """Finished lines as dictionaries, by test id."""
    return {
        line.test: line.model_dump() for line in lines if line.event == "finished" and line.test
    }


def run_evals(tmp_path: Path, feed: Path | None) -> tuple[list[TestCase], str]:
    """The example's eval suite for one model on three threads, as its profile runs it."""
    env = {**environment(), "EVALS_LATENCY": "0.01", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop(FEED_VARIABLE, None)
    if feed is not None:
        env[FEED_VARIABLE] = str(feed)
    junit = tmp_path / "evals.xml"
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "evals.run_evals"),
            *("--model", "keyword-stub", "--workers", "3", "--junit", str(junit)),
        ],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return parse_junit([junit]).cases, completed.stdout


def test_the_example_evals_feed_each_case_with_its_cost(tmp_path: Path) -> None:
    feed = tmp_path / "live.jsonl"

    cases, output = run_evals(tmp_path, feed)

    lines = feed_lines(feed)
    finished = [line for line in lines if line.event == "finished"]
    assert finished_outcomes(lines) == {case.id: case.status.value for case in cases}
    assert len(finished) == len(cases) == 8
    assert all(line.cost is not None and line.cost > 0 for line in finished)
    assert lines[0].count == 8
    assert_started_before_finished(lines)
    assert "[8/8] \u2705" in output


def test_the_example_evals_write_the_same_junit_without_a_feed(tmp_path: Path) -> None:
    fed, _ = run_evals(tmp_path / "fed", tmp_path / "live.jsonl")
    unfed, _ = run_evals(tmp_path / "unfed", None)

    assert [case.id for case in unfed] == [case.id for case in fed]
    assert [case.id for case in unfed] == [f"evals.keyword-stub::{case}" for case in CASE_NAMES]
    assert sorted(path.name for path in tmp_path.rglob("*.jsonl")) == ["live.jsonl"]
