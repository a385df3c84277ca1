"""`qaagent run-all --events jsonl`: the run's event stream, checked against its published schema."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from qaagent_process import environment
from test_run_all import project, run_all, run_dirs

__all__ = ["project"]

SECRET = "s3cret-value-42"
PROFILE = f"""\
project: {{name: events}}
tests:
  unit: {{path: tests}}
suites:
  checks: {{kind: pytest, path: checks}}
  noisy:
    kind: command
    command: [python, -c, "import os; print('token', os.environ['API_TOKEN']); print(chr(27) + '[31mred')"]
    env: {{API_TOKEN: "{SECRET}"}}
run: {{parallel: true, max_workers: 2}}
"""


def published_schema() -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "qaagent", "schema", "--events"],
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    schema: dict[str, Any] = json.loads(completed.stdout)
    return schema


def valid_stream(text: str) -> list[dict[str, Any]]:
    """The events of one run, after checking each line against the schema and their numbering."""
    validator = jsonschema.Draft7Validator(
        published_schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        assert not list(validator.iter_errors(line)), line
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert len({line["run_id"] for line in lines}) == 1
    return lines


def assert_in_order(lines: list[dict[str, Any]]) -> None:
    """planned first, run-finished last, and each task started before it finished."""
    kinds = [line["kind"] for line in lines]
    assert kinds[0] == "planned"
    assert kinds[-1] == "run-finished"
    assert kinds[-2] == "evidence-written"
    started = [line["task"] for line in lines if line["kind"] == "task-started"]
    assert sorted(started) == sorted(task["name"] for task in lines[0]["tasks"])
    for task in started:
        start = next(i for i, line in enumerate(lines) if line.get("task") == task)
        finish = next(
            i
            for i, line in enumerate(lines)
            if line["kind"] == "task-finished" and line["task"] == task
        )
        assert start < finish
        assert lines[start]["kind"] == "task-started"


def test_events_jsonl_on_stdout_is_a_valid_ordered_stream_ending_with_the_exit_code(
    project: Path,
) -> None:
    (project / "events.yaml").write_text(PROFILE, encoding="utf-8")
    completed = run_all(project, "--config", "events.yaml", "--events", "jsonl")
    assert completed.returncode == 1, completed.stderr
    lines = valid_stream(completed.stdout)
    assert_in_order(lines)
    (run_dir,) = run_dirs(project)
    assert lines[0]["run_id"] == run_dir.name
    assert lines[-1]["exit_code"] == completed.returncode
    assert lines[-1]["status"] == "failed"
    assert lines[-2]["run_dir"] == str(run_dir)
    assert all(datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0) for line in lines)
    reports = [line["path"] for line in lines if line["kind"] == "report-written"]
    assert reports == [
        "reports/junit.xml",
        "reports/summary.json",
        "reports/summary.md",
        "reports/report.html",
    ]
    assert all((run_dir / path).is_file() for path in reports)
    outcomes = {line["task"]: line["outcome"] for line in lines if line["kind"] == "task-finished"}
    assert outcomes == {"unit": "passed", "checks": "failed", "noisy": "passed"}
    noisy = [line["line"] for line in lines if line["kind"] == "task-output"]
    assert "token ***" in noisy
    assert "\x1b[31mred" in noisy
    assert SECRET not in completed.stdout + completed.stderr
    assert "\x1b" not in completed.stdout
    assert "Run directory:" in completed.stderr


def test_events_to_a_file_are_appended_run_after_run_while_stdout_keeps_the_table(
    project: Path,
) -> None:
    for _ in range(2):
        completed = run_all(project, "--suite", "unit", "--events", "jsonl=events.jsonl")
        assert completed.returncode == 0, completed.stderr
        assert "Run directory:" in completed.stdout
        assert '"kind"' not in completed.stdout
    text = (project / "events.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    firsts = [index for index, line in enumerate(lines) if line["seq"] == 1]
    assert firsts[0] == 0
    assert len(firsts) == 2
    runs = [lines[: firsts[1]], lines[firsts[1] :]]
    for run in runs:
        valid_stream("\n".join(json.dumps(line) for line in run))
        assert_in_order(run)
        assert run[-1]["exit_code"] == 0
    assert [run[0]["run_id"] for run in runs] == [path.name for path in run_dirs(project)]


def test_events_on_stdout_with_json_is_a_usage_error_before_anything_runs(project: Path) -> None:
    completed = run_all(project, "--events", "jsonl", "--json")
    assert completed.returncode == 2
    assert "--events jsonl and --json both want stdout" in completed.stderr
    assert "Traceback" not in completed.stderr
    missing = run_all(project, "--events", "jsonl=nowhere/events.jsonl")
    assert missing.returncode == 2
    assert "nowhere/events.jsonl" in missing.stderr
    assert "its folder must exist" in missing.stderr
    assert not (project / ".qaagent" / "runs").exists() or not run_dirs(project)


def test_a_fail_fast_stop_is_an_event_and_the_tasks_never_started_have_none(project: Path) -> None:
    completed = run_all(project, "--fail-fast", "--events", "jsonl")
    assert completed.returncode == 1, completed.stderr
    lines = valid_stream(completed.stdout)
    (stopping,) = [line for line in lines if line["kind"] == "stopping"]
    assert stopping["reason"] == "fail-fast"
    started = {line["task"] for line in lines if line["kind"] == "task-started"}
    assert started == {"unit", "checks"}
    assert len(lines[0]["tasks"]) == 5
    assert (lines[-1]["kind"], lines[-1]["stop_reason"]) == ("run-finished", "fail-fast")
