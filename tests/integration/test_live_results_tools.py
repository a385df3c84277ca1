"""A hung behave scenario or Playwright test: what finished is kept, the hung one is named.

The same five-test suite as the pytest case of `test_live_results`, written for behave and for
@playwright/test: the third hangs; cut short by the task's timeout or by Ctrl-C, the run keeps
two passed, names the third timed-out or interrupted, and counts two as not run.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_live_results import EVENT_WAIT, assert_cut_short, events
from test_playwright_runners import NODE_PROJECT, node_modules
from test_run_all import project, run_all, run_dirs, start_run_all

__all__ = ["node_modules", "project"]

FEATURE = """\
Feature: Hang

  Scenario: One
    Given it passes

  Scenario: Two
    Given it passes

  Scenario: The third hangs
    Given it hangs

  Scenario: Four
    Given it passes

  Scenario: Five
    Given it passes
"""
STEPS = """\
import time

from behave import step


@step("it passes")
def passes(context):
    pass


@step("it hangs")
def hangs(context):
    time.sleep(60)
"""
SPEC = """\
import { test } from "@playwright/test";

test("one", async () => {});
test("two", async () => {});
test("three hangs", async () => {
  test.setTimeout(0);
  await new Promise(() => {});
});
test("four", async () => {});
test("five", async () => {});
"""
PLAYWRIGHT_CONFIG = """\
import { defineConfig } from "@playwright/test";

export default defineConfig({ testDir: "./tests", workers: 1, retries: 0 });
"""


def behave_suite(project: Path, node_modules: Path) -> str:
    """Five scenarios in `features/`, run by a suite `hang`."""
    steps = project / "features" / "steps"
    steps.mkdir(parents=True)
    (project / "features" / "hang.feature").write_text(FEATURE, encoding="utf-8")
    (steps / "steps.py").write_text(STEPS, encoding="utf-8")
    return "kind: behave\n    path: features"


def playwright_suite(project: Path, node_modules: Path) -> str:
    """Five tests in a Playwright Test project of their own, run by a suite `hang`."""
    folder = project / "e2e"
    (folder / "tests").mkdir(parents=True)
    (folder / "tests" / "hang.spec.ts").write_text(SPEC, encoding="utf-8")
    (folder / "playwright.config.ts").write_text(PLAYWRIGHT_CONFIG, encoding="utf-8")
    (folder / "package.json").write_text((NODE_PROJECT / "package.json").read_text())
    (folder / "node_modules").symlink_to(node_modules)
    return "kind: playwright-node\n    path: e2e"


Suite = Callable[[Path, Path], str]
TOOLS = [pytest.param(behave_suite, id="behave"), pytest.param(playwright_suite, id="playwright")]


def write_profile(project: Path, suite: str, timeout: float | None = None) -> str:
    """A profile whose only suite is `hang`; returns its file name."""
    limit = f"\n    timeout: {timeout}" if timeout is not None else ""
    (project / "hang.yaml").write_text(
        "project: {name: hang}\n"
        "tests: {unit: {enabled: false}, behave: {enabled: false}, e2e: {enabled: false}}\n"
        f"suites:\n  hang:\n    {suite}{limit}\n",
        encoding="utf-8",
    )
    return "hang.yaml"


def wait_for_the_hung_test(stream: Path) -> str:
    """The id of the third test, once it has started."""
    deadline = time.monotonic() + EVENT_WAIT
    while True:
        started = [event["test"] for event in events(stream) if event["kind"] == "test-started"]
        if len(started) >= 3:
            return started[2]
        assert time.monotonic() < deadline, "the third test never started"
        time.sleep(0.1)


@pytest.mark.parametrize("suite", TOOLS)
def test_a_hung_test_times_out_by_name_and_the_others_keep_their_results(
    project: Path, node_modules: Path, suite: Suite
) -> None:
    profile = write_profile(project, suite(project, node_modules), timeout=8)
    stream = project / "events.jsonl"
    completed = run_all(project, "--config", profile, "--events", f"jsonl={stream}")
    assert completed.returncode == 3, completed.stdout + completed.stderr
    hung = [event["test"] for event in events(stream) if event["kind"] == "test-started"][2]
    assert "hang" in hung.lower()
    (run_dir,) = run_dirs(project)
    assert_cut_short(run_dir, "timed-out", hung)


@pytest.mark.parametrize("suite", TOOLS)
def test_ctrl_c_keeps_the_finished_tests_and_names_the_interrupted_one(
    project: Path, node_modules: Path, suite: Suite
) -> None:
    profile = write_profile(project, suite(project, node_modules))
    stream = project / "events.jsonl"
    process = start_run_all(project, "--config", profile, "--events", f"jsonl={stream}")
    hung = wait_for_the_hung_test(stream)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=EVENT_WAIT)
    assert process.returncode == 130, output
    (run_dir,) = run_dirs(project)
    assert_cut_short(run_dir, "interrupted", hung)
