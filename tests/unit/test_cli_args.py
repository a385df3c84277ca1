"""Arguments given after `--` reach every tool's command line, first attempt and retry alike."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qaagent.model.outcomes import CaseStatus, TestCase
from qaagent.model.task import SuiteKind, Task
from qaagent.tools.attempts import ToolRunner
from qaagent.tools.base import RunContext
from qaagent.tools.registry import runner_for

CLI_ARGS = ("-k", "checkout and not slow", "--headed")


def make_task(tmp_path: Path, kind: SuiteKind) -> Task:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n", encoding="utf-8")
    return Task(
        name="suite",
        suite="suite",
        kind=kind,
        cwd=tmp_path,
        path=tmp_path,
        command=("run-tests",) if kind == "command" else None,
        args=("--from-profile",),
        cli_args=CLI_ARGS,
    )


def failed_case() -> TestCase:
    return TestCase(
        id="tests/test_a.py::test_a",
        name="test_a",
        status=CaseStatus.failed,
        properties={"nodeid": "tests/test_a.py::test_a"},
    )


@pytest.mark.parametrize(
    "kind", ["pytest", "behave", "playwright-python", "playwright-node", "command"]
)
@pytest.mark.parametrize("rerun", [False, True])
def test_every_tool_gets_the_arguments_after_the_profiles_own(
    tmp_path: Path, kind: SuiteKind, rerun: bool
) -> None:
    runner = runner_for(kind)
    assert isinstance(runner, ToolRunner)
    attempt = tmp_path / "attempt-2"
    attempt.mkdir()
    invocation = runner.adapter.invocation(
        make_task(tmp_path, kind),
        RunContext(output_dir=tmp_path, chromium=sys.executable),
        attempt,
        [failed_case()] if rerun else [],
    )
    argv = invocation.argv
    start = argv.index(CLI_ARGS[0])
    assert argv[start : start + len(CLI_ARGS)] == list(CLI_ARGS)
    assert argv.index("--from-profile") < start


def test_a_browser_chosen_after_the_double_dash_replaces_chromium(tmp_path: Path) -> None:
    task = make_task(tmp_path, "playwright-python").model_copy(
        update={"cli_args": ("--browser", "firefox")}
    )
    runner = runner_for(task.kind)
    assert isinstance(runner, ToolRunner)
    argv = runner.adapter.invocation(task, RunContext(output_dir=tmp_path), tmp_path, []).argv
    assert [argv[index + 1] for index, arg in enumerate(argv) if arg == "--browser"] == ["firefox"]
