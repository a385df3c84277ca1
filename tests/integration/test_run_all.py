"""`qaagent run-all` as CI runs it: a real subprocess on fixture projects copied to tmp_path."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import psutil
import pytest
from qaagent_process import environment

from qaagent.evidence.models import (
    DIAGNOSTICS_NAME,
    MANIFEST_NAME,
    TESTS_NAME,
    Diagnostics,
    Manifest,
    TestRecord,
)
from qaagent.model.run import RunStatus
from qaagent.reporting import render_report
from qaagent.reporting.summary import RunSummary

FIXTURE = Path(__file__).parents[1] / "fixtures" / "run_projects"
RUN_TIMEOUT = 120


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the fixture project; fails the test if any of its processes survive."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    yield root
    survivors = processes_left(root, seconds=5)
    commands = [described(process) for process in survivors]
    for process in survivors:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    assert not survivors, f"processes left behind: {commands}"


def described(process: psutil.Process) -> str:
    """A process's command line, or its pid once it has gone."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return f"pid {process.pid} (gone)"


def processes_in(root: Path) -> list[psutil.Process]:
    """Live processes whose working folder is inside the project."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and Path(process.cwd()).is_relative_to(
                root
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qaagent", "run-all", *args]


def run_all(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def start_run_all(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(*args),
        cwd=project,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_dirs(project: Path) -> list[Path]:
    """The project's run folders, oldest first, even for runs started within the same second."""
    runs = project / ".qaagent" / "runs"
    found = [path for path in runs.iterdir() if path.is_dir() and not path.is_symlink()]
    return sorted(found, key=started_at)


def started_at(run_dir: Path) -> tuple[str, str]:
    """The second of the run's id, then the exact start its manifest records, if any."""
    second = run_dir.name.split("-")[0]
    try:
        manifest = json.loads((run_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return second, ""
    return second, str(manifest["started_at"])


def checked_manifest(run_dir: Path) -> Manifest:
    """The manifest, after checking every file parses and matches its recorded sha256."""
    manifest = Manifest.model_validate_json((run_dir / MANIFEST_NAME).read_bytes())
    on_disk = {
        path.relative_to(run_dir).as_posix()
        for path in run_dir.rglob("*")
        if path.is_file() and path.name != MANIFEST_NAME
    }
    assert {entry.path for entry in manifest.files} == on_disk
    for entry in manifest.files:
        path = run_dir / entry.path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256, entry.path
        assert_parses(path)
    return manifest


def assert_parses(path: Path) -> None:
    if path.suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix == ".jsonl":
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line)
    elif path.suffix == ".xml":
        ElementTree.parse(path)


def records(run_dir: Path) -> list[TestRecord]:
    lines = (run_dir / TESTS_NAME).read_text(encoding="utf-8").splitlines()
    return [TestRecord.model_validate_json(line) for line in lines]


def comparable(run_dir: Path) -> dict[str, Any]:
    """Everything of a run's evidence that does not depend on time or scheduling."""
    manifest = checked_manifest(run_dir)
    diagnostics = Diagnostics.model_validate_json((run_dir / DIAGNOSTICS_NAME).read_bytes())
    return {
        "status": manifest.status,
        "exit_code": manifest.exit_code,
        "counts": manifest.counts,
        "tasks": [
            (task.name, task.outcome, task.counts, len(task.attempts), task.exit_code, task.junit)
            for task in manifest.tasks
        ],
        "files": sorted(entry.path for entry in manifest.files),
        "records": [(r.id, r.status, r.final, r.flaky, r.message) for r in records(run_dir)],
        "diagnostics": [item.model_dump() for item in diagnostics.items],
    }


def wait_for_lines(process: subprocess.Popen[str], needles: list[str]) -> list[str]:
    """Read the run's plain progress lines until every needle was seen."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while not all(any(needle in line for line in seen) for needle in needles):
        assert time.monotonic() < deadline, f"never saw {needles} in {seen}"
        line = process.stdout.readline()
        assert line, f"run ended early: {seen}"
        seen.append(line)
    return seen


def test_parallel_and_sequential_runs_leave_the_same_evidence(project: Path) -> None:
    sequential = run_all(project, "--no-parallel")
    parallel = run_all(project, "--parallel", "--max-workers", "3")
    assert sequential.returncode == parallel.returncode == 1, parallel.stdout + parallel.stderr
    first, second = run_dirs(project)
    assert comparable(first) == comparable(second)
    manifests = [checked_manifest(run_dir) for run_dir in (first, second)]
    assert {task.worker for task in manifests[0].tasks} == {0}
    assert {task.worker for task in manifests[1].tasks} <= {0, 1, 2}
    assert [task.name for task in manifests[1].tasks] == [
        "unit",
        "checks",
        "evals[model=small]",
        "evals[model=large]",
        "lint",
    ]
    assert "never-in-the-manifest" not in (second / MANIFEST_NAME).read_text(encoding="utf-8")
    assert (project / ".qaagent" / "runs" / "latest").resolve() == second.resolve()
    assert "checks: failed" in parallel.stdout
    assert "Run directory:" in parallel.stdout


def test_json_prints_exactly_the_runs_summary_json_on_stdout(project: Path) -> None:
    completed = run_all(project, "--suite", "unit", "--suite", "checks", "--json")
    assert completed.returncode == 1, completed.stderr
    (run_dir,) = run_dirs(project)
    written = (run_dir / "reports" / "summary.json").read_text(encoding="utf-8")
    assert json.loads(completed.stdout) == json.loads(written)
    assert completed.stdout == written
    summary = RunSummary.model_validate_json(completed.stdout)
    assert [task.name for task in summary.tasks] == ["unit", "checks"]
    assert summary.failures and summary.run.run_dir == str(run_dir.resolve())


@pytest.mark.parametrize("report", ["none", "junit"])
def test_json_prints_the_summary_of_a_run_that_wrote_no_summary_json(
    project: Path, report: str
) -> None:
    completed = run_all(project, "--suite", "unit", "--report", report, "--json")
    assert completed.returncode == 0, completed.stderr
    (run_dir,) = run_dirs(project)
    assert not (run_dir / "reports" / "summary.json").exists()
    rebuilt = render_report(run_dir, "json", destination=run_dir / "summary.json")
    assert json.loads(completed.stdout) == json.loads(rebuilt)
    summary = RunSummary.model_validate_json(completed.stdout)
    assert summary.run.status is RunStatus.passed
    assert summary.tasks[0].counts.passed == 3


def test_unknown_suite_pattern_is_a_usage_error_without_a_run_directory(project: Path) -> None:
    completed = run_all(project, "--suite", "evlas")
    assert completed.returncode == 2
    assert "'evlas' matches no suite or task" in completed.stderr
    assert not (project / ".qaagent").exists()


@pytest.mark.parametrize("runs_dir", ["taken", "taken/runs"])
def test_a_runs_folder_that_cannot_be_created_is_a_usage_error_before_anything_runs(
    project: Path, runs_dir: str
) -> None:
    (project / "taken").write_text("a file where the runs folder should be\n")
    completed = subprocess.run(
        command("--suite", "lint"),
        cwd=project,
        env={**environment(), "QAAGENT_RUNS_DIR": runs_dir},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert completed.stderr.startswith(f"qaagent: error: The runs folder {project / runs_dir} ")
    assert "QAAGENT_RUNS_DIR" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_a_reader_that_goes_away_silences_the_output_but_not_the_run(project: Path) -> None:
    process = start_run_all(project, "--suite", "unit", "--suite", "lint")
    wait_for_lines(process, ["start  "])
    assert process.stdout is not None
    process.stdout.close()
    assert process.wait(timeout=RUN_TIMEOUT) == 0
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert manifest.status is RunStatus.passed
    assert {task.name for task in manifest.tasks} == {"unit", "lint"}


def test_last_failed_says_whether_there_was_no_run_or_no_failure(project: Path) -> None:
    first = run_all(project, "--last-failed", "--suite", "unit")
    assert first.returncode == 0, first.stderr
    assert "note: --last-failed: no run yet; running every selected task." in first.stderr
    second = run_all(project, "--last-failed", "--suite", "unit")
    assert second.returncode == 0, second.stderr
    assert (
        "note: --last-failed: nothing failed in the latest run; running every selected task."
        in second.stderr
    )


def test_a_history_that_refuses_the_finished_run_is_a_warning_not_a_new_exit_code(
    project: Path,
) -> None:
    assert run_all(project, "--suite", "lint").returncode == 0
    with contextlib.closing(
        sqlite3.connect(project / ".qaagent" / "runs" / "history.sqlite3")
    ) as db:
        db.execute(
            "CREATE TRIGGER frozen BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'frozen'); END"
        )
        db.commit()
    completed = run_all(project, "--suite", "checks")
    assert completed.returncode == 1, completed.stderr
    assert completed.stderr.startswith("qaagent: warning: the run was not added to the history: ")
    assert "Traceback" not in completed.stderr
    (checks_run,) = [path for path in run_dirs(project) if (path / "artifacts" / "checks").is_dir()]
    assert checked_manifest(checks_run).exit_code == 1


def test_fail_fast_leaves_the_rest_not_run_with_the_failures_exit_code(project: Path) -> None:
    completed = run_all(project, "--fail-fast", "--no-parallel")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert [(task.name, task.outcome) for task in manifest.tasks] == [
        ("unit", "passed"),
        ("checks", "failed"),
        ("evals[model=small]", "not-run"),
        ("evals[model=large]", "not-run"),
        ("lint", "not-run"),
    ]
    assert "stopping: a task failed and --fail-fast is on" in completed.stdout


def test_a_hanging_task_is_timed_out_and_the_run_is_an_infrastructure_error(
    project: Path,
) -> None:
    completed = run_all(project, "--config", "hang.yaml", "--parallel")
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert manifest.status is RunStatus.error
    outcomes = {task.name: task.outcome for task in manifest.tasks}
    assert outcomes == {"quick": "passed", "stuck": "timed-out"}
    diagnostics = Diagnostics.model_validate_json((run_dir / DIAGNOSTICS_NAME).read_bytes())
    assert [(item.task, item.category) for item in diagnostics.items] == [("stuck", "timeout")]


def test_run_timeout_stops_the_run_with_exit_code_3(project: Path) -> None:
    completed = run_all(project, "--config", "slow.yaml", "--run-timeout", "1")
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert manifest.status is RunStatus.error
    assert {task.name: task.outcome for task in manifest.tasks} == {
        "sleeper": "timed-out",
        "stubborn": "timed-out",
        "waiting": "not-run",
    }


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_the_run_and_still_writes_an_interrupted_manifest(
    project: Path, signum: signal.Signals
) -> None:
    process = start_run_all(project, "--config", "slow.yaml")
    wait_for_lines(process, ["start  sleeper", "start  stubborn"])
    process.send_signal(signum)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert manifest.status is RunStatus.interrupted
    assert manifest.exit_code == 130
    assert {task.name: task.outcome for task in manifest.tasks} == {
        "sleeper": "interrupted",
        "stubborn": "interrupted",
        "waiting": "not-run",
    }


def wait_for_processes(project: Path, needles: list[str]) -> None:
    """Wait until a process of the project runs with each needle in its command line."""
    deadline = time.monotonic() + 60
    while True:
        lines = [" ".join(process.cmdline()) for process in processes_in(project)]
        if all(any(needle in line for line in lines) for needle in needles):
            return
        assert time.monotonic() < deadline, f"never saw {needles} in {lines}"
        time.sleep(0.1)


def processes_left(project: Path, seconds: float = 30.0) -> list[psutil.Process]:
    """The project's processes still running after a generous wait for them to end."""
    deadline = time.monotonic() + seconds
    while (left := processes_in(project)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_killing_qaagent_outright_still_ends_every_process_it_started(project: Path) -> None:
    process = start_run_all(project, "--config", "slow.yaml")
    wait_for_processes(project, ["--name sleeper", "time.sleep(600)", "--name stubborn"])

    process.kill()
    process.communicate(timeout=60)

    assert processes_left(project) == []


def test_a_closed_terminal_stops_the_run_and_still_writes_the_evidence(project: Path) -> None:
    master, terminal = os.openpty()
    process = subprocess.Popen(
        command("--config", "slow.yaml"),
        cwd=project,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    artifacts = project / ".qaagent" / "runs"
    deadline = time.monotonic() + 60
    while not all(
        any(artifacts.glob(f"*/artifacts/{task}/attempt-1")) for task in ("sleeper", "stubborn")
    ):
        assert time.monotonic() < deadline, "the tasks never started"
        if select.select([master], [], [], 0.1)[0]:
            os.read(master, 65536)
    os.close(master)
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=60) == 130
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert manifest.status is RunStatus.interrupted
    assert {task.name: task.outcome for task in manifest.tasks} == {
        "sleeper": "interrupted",
        "stubborn": "interrupted",
        "waiting": "not-run",
    }


def test_a_second_sigint_kills_at_once_and_leaves_a_readable_manifest(project: Path) -> None:
    process = start_run_all(project, "--config", "slow.yaml")
    wait_for_lines(process, ["start  sleeper", "start  stubborn"])
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert manifest.status is RunStatus.interrupted
    assert {task.name for task in manifest.tasks} == {"sleeper", "stubborn", "waiting"}


def test_two_runs_at_once_in_one_repository_keep_separate_complete_run_dirs(
    project: Path,
) -> None:
    processes = [start_run_all(project, "--parallel", "--suite", "unit") for _ in range(2)]
    for process in processes:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
        assert process.returncode == 0, output
    first, second = run_dirs(project)
    assert first.name != second.name
    for run_dir in (first, second):
        manifest = checked_manifest(run_dir)
        assert manifest.run_id == run_dir.name
        assert [task.outcome for task in manifest.tasks] == ["passed"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def with_port(project: Path) -> str:
    port = str(free_port())
    profile = project / "app.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("PORT", port), "utf-8")
    return f"http://127.0.0.1:{port}"


def test_the_app_is_started_for_the_suites_that_need_it_and_stopped_after(
    project: Path,
) -> None:
    base_url = with_port(project)
    completed = run_all(project, "--config", "app.yaml", "--parallel")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    checked_manifest(run_dir)
    smoke_log = (run_dir / "artifacts" / "smoke" / "output.log").read_text(encoding="utf-8")
    assert f"probing {base_url}" in smoke_log
    app_log = (run_dir / "artifacts" / "_app" / "local.log").read_text(encoding="utf-8")
    assert f"listening on {base_url}" in app_log
    app_pid = int((project / "app.pid").read_text(encoding="utf-8"))
    assert not psutil.pid_exists(app_pid) or psutil.Process(app_pid).status() == "zombie"


def test_a_task_interrupted_while_its_app_starts_is_interrupted_not_an_error(
    project: Path,
) -> None:
    (project / "waiting-app.yaml").write_text(
        "tests: {unit: {enabled: false}}\n"
        "app:\n"
        "  local:\n"
        f"    base_url: http://127.0.0.1:{free_port()}\n"
        "    start_command: [python, tools/step.py, --sleep, '600', --name, app]\n"
        "    health_endpoint: /health\n"
        "suites:\n"
        "  smoke: {kind: command, command: [python, tools/probe.py], needs_app: true}\n",
        encoding="utf-8",
    )
    process = start_run_all(project, "--config", "waiting-app.yaml")
    wait_for_lines(process, ["start  smoke"])
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert [(task.name, task.outcome) for task in manifest.tasks] == [("smoke", "interrupted")]


def test_an_app_that_never_becomes_healthy_errors_its_suites_with_its_log(
    project: Path,
) -> None:
    with_port(project)
    completed = run_all(project, "--config", "app.yaml", "--env", "broken")
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    smoke, plain = manifest.tasks
    assert smoke.outcome == "error"
    assert "exited with code 4" in (smoke.error or "")
    assert "boom: DATABASE_URL is not set" in (smoke.error or "")
    assert plain.outcome == "passed"
    assert "boom: DATABASE_URL is not set" in completed.stdout


def test_the_manifest_says_where_each_run_setting_came_from(project: Path) -> None:
    profile = project / "qaagent.yaml"
    profile.write_text(profile.read_text() + "  retry_count: 1\n")
    completed = subprocess.run(
        command("--suite", "lint", "--max-workers", "2"),
        cwd=project,
        env={**environment(drop=("CI", "QAAGENT_")), "QAAGENT_TIMEOUT": "60"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    settings = checked_manifest(run_dirs(project)[-1]).settings
    assert settings["sources"] == {
        "parallel": "default",
        "max_workers": "command line",
        "retry_count": "profile",
        "timeout": "environment QAAGENT_TIMEOUT",
        "fail_fast": "default",
        "max_failures": "default",
        "retry_on_attempts": "default",
        "retry_on_backoff": "default",
        "runs_dir": "default",
        "python": "default",
        "durations_file": "default",
        "cache": "default",
    }
    assert (settings["max_workers"], settings["retry_count"], settings["timeout"]) == (2, 1, 60.0)
