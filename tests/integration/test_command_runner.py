"""The command runner on real commands: JUnit, exit codes, crashes, retries, backoff patterns."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.tools.attempts import ToolRunner
from qaagent.tools.base import RunContext
from qaagent.tools.command_tool import CommandAdapter

FIXTURE = Path(__file__).parents[1] / "fixtures" / "command_project"
PY = sys.executable


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "project"))


def make_task(project: Path, command: tuple[str, ...], **changes: object) -> Task:
    fields: dict[str, object] = {
        "name": "evals[model=small]",
        "suite": "evals",
        "kind": "command",
        "cwd": project,
        "command": command,
        "matrix": {"model": "small"},
        "timeout": 120.0,
        "retry_on_backoff": 0.01,
    }
    fields.update(changes)
    return Task.model_validate(fields)


def run(task: Task, tmp_path: Path) -> TaskResult:
    runner = ToolRunner(CommandAdapter())
    return runner.run(task, RunContext(output_dir=tmp_path / "artifacts" / "evals"))


def tool_summary(result: TaskResult) -> Counts:
    """The command's own 'N passed, N failed' line."""
    assert result.log_path is not None
    match = re.search(r"^(\d+) passed, (\d+) failed$", result.log_path.read_text(), re.MULTILINE)
    assert match is not None
    return Counts(passed=int(match[1]), failed=int(match[2]))


def test_junit_from_expanded_variable_counts_like_the_tool(project: Path, tmp_path: Path) -> None:
    result = run(make_task(project, (PY, "report.py", "${QAAGENT_JUNIT}")), tmp_path)

    print(f"tool: {tool_summary(result)!r} / qaagent: {result.counts!r}")
    assert result.counts == tool_summary(result) == Counts(passed=2, failed=1)
    assert result.outcome is TaskOutcome.failed
    (attempt,) = result.attempts
    assert attempt.command[2] == str(tmp_path / "artifacts" / "evals" / "attempt-1" / "junit.xml")
    assert attempt.junit_paths == [Path(attempt.command[2])]
    assert Path(attempt.command[2]) in result.artifacts
    assert result.matrix == {"model": "small"}


def test_retry_reruns_the_whole_command(project: Path, tmp_path: Path) -> None:
    result = run(make_task(project, (PY, "report.py", "$QAAGENT_JUNIT"), retry_count=1), tmp_path)

    assert [len(attempt.cases) for attempt in result.attempts] == [3, 3]
    assert result.counts == Counts(passed=2, failed=1)
    assert (tmp_path / "artifacts" / "evals" / "attempt-2" / "junit.xml").exists()
    log = (tmp_path / "artifacts" / "evals" / "output.log").read_text()
    assert log.count("=== qaagent attempt") == 2


def test_crash_after_junit_was_written_is_an_error(project: Path, tmp_path: Path) -> None:
    result = run(make_task(project, (PY, "crash_after_report.py")), tmp_path)

    assert result.outcome is TaskOutcome.error
    assert result.error is not None
    assert result.error.startswith("killed by signal 6")
    assert result.counts == Counts(passed=1)


@pytest.mark.parametrize(("code", "status"), [(0, CaseStatus.passed), (3, CaseStatus.failed)])
def test_without_junit_the_exit_code_decides_one_case(
    project: Path, tmp_path: Path, code: int, status: CaseStatus
) -> None:
    result = run(make_task(project, (PY, "plain_exit.py"), args=(str(code),)), tmp_path)

    (case,) = result.cases
    assert case.name == "evals[model=small]"
    assert case.status is status
    assert case.output == "result: \ufffd\ufffd\ufffd not utf-8"
    assert result.tail[-1] == "result: \ufffd\ufffd\ufffd not utf-8"
    assert result.outcome is (TaskOutcome.passed if code == 0 else TaskOutcome.failed)


def test_missing_executable_is_an_error_not_an_exception(project: Path, tmp_path: Path) -> None:
    result = run(make_task(project, ("qaagent-no-such-tool", "run"), retry_count=2), tmp_path)

    assert result.outcome is TaskOutcome.error
    assert result.error == "command not found: qaagent-no-such-tool"
    assert len(result.attempts) == 1


def test_output_matching_retry_on_is_retried(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "limited"
    task = make_task(
        project,
        (PY, "rate_limited.py", str(marker)),
        retry_count=0,
        retry_on=(r"HTTP 429",),
    )

    result = run(task, tmp_path)

    first, second = result.attempts
    assert first.exit_code == 2 and first.cases[0].status is CaseStatus.failed
    assert second.exit_code == 0
    assert result.outcome is TaskOutcome.passed
    assert result.counts == Counts(passed=1)
    assert result.cases[0].id == "c::ok"


def test_environment_reaches_the_command(project: Path, tmp_path: Path) -> None:
    script = (
        "import os; print(os.environ['QAAGENT_TASK'], os.environ['QAAGENT_ATTEMPT'], "
        "os.environ['MODEL'], os.path.isdir(os.environ['QAAGENT_OUTPUT_DIR']))"
    )
    result = run(make_task(project, (PY, "-c", script), env={"MODEL": "small"}), tmp_path)

    assert result.tail == ["evals[model=small] 1 small True"]
