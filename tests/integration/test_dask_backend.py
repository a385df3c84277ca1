"""The Dask backend on a real cluster of two worker processes started by `--backend dask-local`."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from qaagent_process import environment
from test_run_all import (
    checked_manifest,
    command,
    processes_left,
    project,
    run_all,
    run_dirs,
    start_run_all,
)

pytest.importorskip("distributed", reason="the Dask backend needs the 'dask' extra installed")

__all__ = ["project"]

DASK = ("--backend", "dask-local", "--dask-workers", "2")
WAIT_SECONDS = 60.0

SPAN = """\
import pathlib, sys, time
folder = pathlib.Path(sys.argv[1])
folder.mkdir(exist_ok=True)
start = time.time()
time.sleep(0.3)
(folder / sys.argv[2]).write_text(f"{start} {time.time()}")
"""

DIE_ONCE = """\
import os, pathlib, subprocess, sys
marker = pathlib.Path(sys.argv[1])
if marker.exists():
    sys.exit(0)
sleeper = subprocess.Popen(["sleep", "37"])
marker.write_text(str(os.getpid()))
sleeper.wait()
"""


def write_profile(project: Path, name: str, suites: str, run: str = "{}") -> str:
    """A profile of the given suites only, beside the fixture's."""
    (project / name).write_text(
        f"tests: {{unit: {{enabled: false}}}}\nsuites:\n{suites}run: {run}\n", encoding="utf-8"
    )
    return name


def task_counts(project: Path) -> dict[str, tuple[str, dict[str, int]]]:
    """Each task's outcome and counts in the project's latest run."""
    manifest = checked_manifest(run_dirs(project)[-1])
    return {task.name: (task.outcome, task.counts.model_dump()) for task in manifest.tasks}


def test_a_dask_run_counts_what_a_local_run_counts(project: Path) -> None:
    local = run_all(project, "--parallel")
    assert local.returncode == 1, local.stdout + local.stderr
    expected = task_counts(project)

    remote = run_all(project, *DASK, "--events", "jsonl=events.jsonl")

    assert remote.returncode == 1, remote.stdout + remote.stderr
    assert task_counts(project) == expected
    kinds = [json.loads(line)["kind"] for line in (project / "events.jsonl").open()]
    assert {"task-started", "test-finished", "task-output", "task-finished"} <= set(kinds)


def test_a_pool_of_one_never_runs_two_tasks_at_once_across_workers_that_hold_its_resources(
    project: Path,
) -> None:
    (project / "tools" / "span.py").write_text(SPAN, encoding="utf-8")
    config = write_profile(
        project,
        "pool.yaml",
        "  span:\n"
        "    kind: command\n"
        "    command: [python, tools/span.py, spans, '{n}']\n"
        "    matrix: {n: ['1', '2', '3', '4']}\n"
        "    pool: api\n"
        "    resources: {browser: 1}\n",
        "{pools: {api: 1}}",
    )

    completed = run_all(project, "--config", config, *DASK)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    spans = sorted(
        tuple(map(float, path.read_text().split())) for path in (project / "spans").iterdir()
    )
    assert len(spans) == 4
    for (_, earlier_end), (later_start, _) in itertools.pairwise(spans):
        assert earlier_end <= later_start, spans


def test_a_task_whose_worker_is_killed_reruns_elsewhere_and_leaves_no_process(
    project: Path,
) -> None:
    (project / "tools" / "die_once.py").write_text(DIE_ONCE, encoding="utf-8")
    config = write_profile(
        project,
        "die.yaml",
        "  fragile: {kind: command, command: [python, tools/die_once.py, marker]}\n",
    )
    process = start_run_all(project, "--config", config, *DASK)
    marker = project / "marker"
    wait_until(lambda: marker.exists() and marker.read_text() != "")

    worker_of(int(marker.read_text()), process.pid).kill()
    output, _ = process.communicate(timeout=WAIT_SECONDS)

    assert process.returncode == 0, output
    (fragile,) = checked_manifest(run_dirs(project)[0]).tasks
    assert fragile.outcome == "passed"
    assert "running it died" in (fragile.attempts[0].reason or "")
    assert still_running("sleep 37", seconds=10) == []


def test_a_task_that_kills_every_worker_it_runs_on_is_an_infrastructure_error_naming_them(
    project: Path,
) -> None:
    config = write_profile(
        project,
        "killer.yaml",
        '  killer: {kind: command, command: [python, -c, "import os; os.kill(os.getppid(), 9)"]}\n'
        "  fine: {kind: command, command: [python, tools/step.py]}\n",
    )

    completed = run_all(project, "--config", config, *DASK)

    assert completed.returncode == 3, completed.stdout + completed.stderr
    killer, fine = checked_manifest(run_dirs(project)[0]).tasks
    assert (killer.outcome, fine.outcome) == ("error", "passed")
    assert "the workers running this task died, 4 times: tcp://" in (killer.error or "")


def test_ctrl_c_at_the_terminal_ends_a_dask_run_and_its_processes_within_seconds(
    project: Path,
) -> None:
    """The interrupt reaches the whole process group, local workers included, as a terminal's."""
    config = write_profile(
        project,
        "long.yaml",
        "  long: {kind: command, command: [python, tools/step.py, --sleep, '60', --child]}\n",
    )
    process = subprocess.Popen(
        command("--config", config, *DASK),
        cwd=project,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    wait_until(lambda: any("--sleep 60" in line for line in command_lines()))

    interrupted_at = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=WAIT_SECONDS)
    ended_after = time.monotonic() - interrupted_at

    assert process.returncode == 130, output
    assert ended_after < 5, output
    assert processes_left(project, seconds=5) == []
    (long,) = checked_manifest(run_dirs(project)[0]).tasks
    assert long.outcome == "interrupted"


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll until the condition holds."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.1)


def worker_of(pid: int, qaagent: int) -> psutil.Process:
    """The Dask worker process, a child of qaagent, under which `pid` runs."""
    process = psutil.Process(pid)
    while process.ppid() != qaagent:
        parent = process.parent()
        assert parent is not None, f"{pid} does not run under qaagent {qaagent}"
        process = parent
    return process


def command_lines() -> list[str]:
    """Every live process's command line."""
    lines = []
    for process in psutil.process_iter(["cmdline"]):
        lines.append(" ".join(process.info["cmdline"] or []))
    return lines


def still_running(command: str, seconds: float) -> list[str]:
    """Processes running exactly `command` after waiting up to `seconds` for them to end."""
    deadline = time.monotonic() + seconds
    while (left := [line for line in command_lines() if line == command]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    return left
