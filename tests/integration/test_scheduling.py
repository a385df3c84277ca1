"""Scheduling a user can predict: start order, transient retries, --max-failures, {workers}."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from qaagent_process import environment
from test_run_all import RUN_TIMEOUT, checked_manifest, command, project, run_all, run_dirs

__all__ = ["project"]

STEP = "[python, tools/step.py, --junit, --name"


def write_profile(project: Path, text: str) -> str:
    """A profile of command suites only: the fixture's pytest folder is left out."""
    (project / "sched.yaml").write_text(
        "tests: {unit: {enabled: false}}\n" + text, encoding="utf-8"
    )
    return "sched.yaml"


def validate(project: Path, config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qaagent", "validate", "--config", config],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def test_validate_prints_the_order_and_why_before_and_after_a_recorded_run(project: Path) -> None:
    config = write_profile(
        project,
        "suites:\n"
        f"  quick: {{kind: command, command: {STEP}, quick]}}\n"
        f"  slow: {{kind: command, command: {STEP}, slow, --sleep, '0.5']}}\n"
        "run: {suite_order: [quick, slow]}\n",
    )
    before = validate(project, config)
    assert before.returncode == 0, before.stdout + before.stderr
    assert "order: profile (no recorded durations yet; suite_order, then priority)" in before.stdout
    assert "  1. quick\n  2. slow\n" in before.stdout

    assert run_all(project, "--config", config).returncode == 0
    after = validate(project, config)
    assert (
        "order: duration (recorded durations of 2 tasks; --order profile to keep suite_order)"
        in after.stdout
    )
    assert after.stdout.index("2. quick") > after.stdout.index("1. slow")


def test_a_transient_failure_is_retried_with_its_own_budget_and_each_retry_says_why(
    project: Path,
) -> None:
    config = write_profile(
        project,
        "suites:\n"
        "  api:\n"
        "    kind: command\n"
        "    command: [python, tools/rate_limited.py, api-calls, '2']\n"
        "    retry_on: ['HTTP 429']\n"
        "  exhausted:\n"
        "    kind: command\n"
        "    command: [python, tools/rate_limited.py, exhausted-calls, '9']\n"
        "    retry_on: ['HTTP 429']\n"
        "    retry_on_attempts: 1\n"
        "run: {retry_count: 0, retry_on_backoff: 0.05}\n",
    )
    completed = run_all(project, "--config", config)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    manifest = checked_manifest(run_dirs(project)[0])
    api, exhausted = manifest.tasks
    assert api.outcome == "passed"
    transient = "transient failure: the output matched retry_on"
    assert [attempt.reason for attempt in api.attempts] == [None, transient, transient]
    assert exhausted.outcome == "failed"
    assert [attempt.reason for attempt in exhausted.attempts] == [None, transient]


def test_max_failures_stops_starting_tasks_once_enough_tests_failed(project: Path) -> None:
    config = write_profile(
        project,
        "suites:\n"
        f"  first: {{kind: command, command: {STEP}, first, --failed, '1']}}\n"
        f"  second: {{kind: command, command: {STEP}, second, --failed, '2']}}\n"
        f"  third: {{kind: command, command: {STEP}, third]}}\n"
        "run: {suite_order: [first, second, third]}\n",
    )
    completed = run_all(project, "--config", config, "--max-failures", "3", "--order", "profile")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert [(task.name, task.outcome) for task in manifest.tasks] == [
        ("first", "failed"),
        ("second", "failed"),
        ("third", "not-run"),
    ]
    assert manifest.settings["stop_reason"] == "max-failures"
    assert "stopping: the run reached --max-failures failed tests" in completed.stdout

    from_environment = subprocess.run(
        command("--config", config, "--order", "profile"),
        cwd=project,
        env={**environment(), "QAAGENT_MAX_FAILURES": "1"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert from_environment.returncode == 1
    latest = checked_manifest(run_dirs(project)[-1])
    assert [task.outcome for task in latest.tasks] == ["failed", "not-run", "not-run"]


def test_max_failures_stops_running_tasks(project: Path) -> None:
    config = write_profile(
        project,
        "suites:\n"
        f"  failing: {{kind: command, command: {STEP}, failing, --failed, '1']}}\n"
        f"  slow: {{kind: command, command: {STEP}, slow, --sleep, '60']}}\n"
        "run: {max_failures: 1, parallel: true}\n",
    )
    completed = run_all(project, "--config", config)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    manifest = checked_manifest(run_dirs(project)[0])
    assert {task.name: task.outcome for task in manifest.tasks} == {
        "failing": "failed",
        "slow": "interrupted",
    }


def test_workers_placeholder_sizes_a_suite_s_own_pool(project: Path) -> None:
    show = "import os, sys; print('jobs', sys.argv[1], 'pool', os.environ['PARALLEL_WORKERS'])"
    config = write_profile(
        project,
        "suites:\n"
        "  prompts:\n"
        "    kind: command\n"
        f"    command: [python, -c, \"{show}\", '--jobs={{workers}}']\n"
        "    env: {PARALLEL_WORKERS: '{workers}'}\n"
        f"  other: {{kind: command, command: {STEP}, other]}}\n"
        "run: {parallel: true, max_workers: 4}\n",
    )
    completed = run_all(project, "--config", config)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    log = run_dirs(project)[0] / "artifacts" / "prompts" / "output.log"
    assert "jobs --jobs=2 pool 2" in log.read_text(encoding="utf-8")
