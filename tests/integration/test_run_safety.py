"""`qaagent run-all` when things go wrong around the tests: kills, stray daemons, stale apps."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_run_all import FIXTURE, processes_in, processes_left, run_dirs, start_run_all

WAIT_SECONDS = 30


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the fixture project; fails the test if any of its processes survive."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    yield root
    survivors = processes_in(root)
    for process in survivors:
        process.kill()
    assert not survivors, f"processes left behind: {[p.cmdline() for p in survivors]}"


def write_profile(project: Path, name: str, suites: str) -> str:
    """A profile with the unit tests off and the given suites block; returns its file name."""
    (project / name).write_text(f"tests: {{unit: {{enabled: false}}}}\nsuites:\n{suites}", "utf-8")
    return name


def wait_for_text(path_pattern: str, root: Path, needle: str) -> str:
    """The text of the first file under `root` matching the pattern once it holds `needle`."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        for path in root.glob(path_pattern):
            text = path.read_text(encoding="utf-8", errors="replace")
            if needle in text:
                return text
        assert time.monotonic() < deadline, f"{needle!r} never appeared in {path_pattern}"
        time.sleep(0.1)


def test_output_reaches_the_log_while_the_task_runs_and_survives_a_killed_qaagent(
    project: Path,
) -> None:
    script = "for i in range(1, 21): print(f'line {i}', flush=True)\nimport time; time.sleep(600)"
    profile = write_profile(
        project,
        "chatty.yaml",
        f"  chatty: {{kind: command, command: [python, -c, {script!r}], timeout: 600}}\n",
    )
    process = start_run_all(project, "--config", profile)
    log_glob = ".qaagent/runs/*/artifacts/chatty/output.log"
    seen = wait_for_text(log_glob, project, "line 20")
    assert [f"line {i}" for i in range(1, 21)] == [
        line for line in seen.splitlines() if line.startswith("line ")
    ]

    process.kill()
    process.communicate(timeout=60)

    (run_dir,) = run_dirs(project)
    kept = (run_dir / "artifacts" / "chatty" / "output.log").read_text(encoding="utf-8")
    assert "line 20" in kept
    assert processes_left(project) == []
