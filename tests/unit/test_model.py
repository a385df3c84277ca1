"""The shared model: plain data that round-trips through JSON and depends on no other stage."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qaagent.errors import ExitCode
from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome, TestCase
from qaagent.model.results import Attempt, Segment, TaskResult
from qaagent.model.run import RunStatus, StopReason, exit_code_for, status_for
from qaagent.model.task import Interpreter, Task

STARTED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def a_task() -> Task:
    """A task using every kind of field: tuples, maps, a path and an interpreter."""
    return Task(
        name="evals[model=haiku]",
        suite="evals",
        kind="pytest",
        cwd=Path("/repo"),
        path=Path("/repo/tests"),
        args=("-k", "fast"),
        cli_args=("-x",),
        env={"MODEL": "haiku"},
        matrix={"model": "haiku"},
        timeout=30.0,
        retry_count=1,
        split="auto",
        python=Interpreter(path=Path("/repo/.venv/bin/python"), origin=".venv next to the profile"),
    )


def a_result() -> TaskResult:
    """A failed task with one retried attempt and one shard."""
    case = TestCase(id="t.py::test_a", name="test_a", status=CaseStatus.failed, line=3)
    attempt = Attempt(
        number=1,
        command=["pytest", "t.py"],
        exit_code=1,
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=2),
        cases=[case],
        log_path=Path("/runs/1/artifacts/evals/attempt-1.log"),
        junit_paths=[Path("/runs/1/artifacts/evals/junit.xml")],
    )
    segment = Segment(label="1/2", worker=0, outcome=TaskOutcome.failed, started_at=STARTED)
    return TaskResult(
        task="evals[model=haiku]",
        suite="evals",
        kind="pytest",
        outcome=TaskOutcome.failed,
        counts=Counts.of([case]),
        cases=[case],
        attempts=[attempt],
        segments=[segment],
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=2),
        matrix={"model": "haiku"},
    )


def test_a_task_round_trips_through_json() -> None:
    task = a_task()

    assert Task.model_validate_json(task.model_dump_json()) == task


def test_a_task_result_round_trips_through_json() -> None:
    result = a_result()

    assert TaskResult.model_validate_json(result.model_dump_json()) == result


def test_a_task_result_is_plain_json() -> None:
    data = json.loads(a_result().model_dump_json())

    assert data["outcome"] == "failed"
    assert data["counts"]["failed"] == 1
    assert data["attempts"][0]["cases"][0]["status"] == "failed"


def test_the_exit_code_and_status_follow_the_outcomes() -> None:
    failed = a_result()
    passed = failed.model_copy(update={"outcome": TaskOutcome.passed})

    assert exit_code_for([passed], None) is ExitCode.OK
    assert exit_code_for([passed, failed], None) is ExitCode.TESTS_FAILED
    assert exit_code_for([passed], StopReason.run_timeout) is ExitCode.INFRASTRUCTURE_ERROR
    assert exit_code_for([passed], StopReason.interrupted) is ExitCode.INTERRUPTED
    assert status_for(ExitCode.TESTS_FAILED) is RunStatus.failed
    assert status_for(ExitCode.INFRASTRUCTURE_ERROR) is RunStatus.error


def test_a_run_of_cached_tasks_only_passes_like_a_run_that_passed() -> None:
    cached = a_result().model_copy(update={"outcome": TaskOutcome.cached})
    failed = a_result()

    assert exit_code_for([cached], None) is ExitCode.OK
    assert exit_code_for([cached, failed], None) is ExitCode.TESTS_FAILED


def test_the_model_loads_no_other_qaagent_package() -> None:
    """Every stage imports the model, so the model can import none of them."""
    probe = (
        "import importlib, pkgutil, sys, qaagent.model\n"
        "for module in pkgutil.iter_modules(qaagent.model.__path__, 'qaagent.model.'):\n"
        "    importlib.import_module(module.name)\n"
        "print('\\n'.join(name for name in sys.modules if name.startswith('qaagent')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()

    outside = [
        name
        for name in loaded
        if name not in {"qaagent", "qaagent.errors"} and not name.startswith("qaagent.model")
    ]
    assert "qaagent.model.task" in loaded
    assert outside == []


def test_a_result_names_its_files_relative_to_the_run_folder_once_returned(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    task_dir = run_dir / "artifacts" / "unit"
    now = datetime.now(UTC)
    result = TaskResult(
        task="unit",
        suite="unit",
        kind="pytest",
        outcome=TaskOutcome.passed,
        output_dir=task_dir,
        log_path=task_dir / "output.log",
        artifacts=[task_dir / "attempt-1" / "trace.zip", Path("/elsewhere/shot.png")],
        attempts=[
            Attempt(
                number=1,
                command=["pytest"],
                started_at=now,
                finished_at=now,
                log_path=task_dir / "output.log",
                junit_paths=[task_dir / "attempt-1" / "junit.xml"],
            )
        ],
        segments=[Segment(label="1/2", outcome=TaskOutcome.passed, log_path=task_dir / "s.log")],
    )

    placed = result.relative_to(run_dir)

    assert placed.output_dir == Path("artifacts/unit")
    assert placed.log_path == Path("artifacts/unit/output.log")
    assert placed.artifacts == [
        Path("artifacts/unit/attempt-1/trace.zip"),
        Path("/elsewhere/shot.png"),
    ]
    assert placed.attempts[0].junit_paths == [Path("artifacts/unit/attempt-1/junit.xml")]
    assert placed.segments[0].log_path == Path("artifacts/unit/s.log")
    assert TaskResult.model_validate_json(placed.model_dump_json()) == placed
