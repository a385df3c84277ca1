"""The exit code tells the truth: no false green, no exit 1 for a broken run, no lost manifest."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from qaagent_process import environment
from test_run_all import RUN_TIMEOUT, checked_manifest, command, project, run_all, run_dirs

from qaagent.evidence.models import MANIFEST_NAME
from qaagent.model.run import RunStatus

__all__ = ["project"]

RESULTS_ONCE = """\
import os, sys
from pathlib import Path

marker = Path("results-written")
if marker.exists():
    print("no results this time")
    sys.exit(0)
marker.write_text("1")
Path(os.environ["QAAGENT_JUNIT"]).write_text(
    '<testsuites><testsuite name="once" tests="1" failures="1">'
    '<testcase classname="once" name="test_once"><failure message="boom">boom</failure>'
    "</testcase></testsuite></testsuites>"
)
sys.exit(1)
"""
NOT_UTF8 = """\
import os, sys

sys.stdout.buffer.write(b"caf\\xe9 \\xff\\xfe\\n")
with open(os.environ["QAAGENT_JUNIT"], "wb") as junit:
    junit.write(
        b'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="b" tests="1" '
        b'failures="1"><testcase classname="b" name="t\\xe9"><failure message="\\xff">\\xe9'
        b"</failure></testcase></testsuite></testsuites>"
    )
sys.exit(1)
"""
LOUD = """\
import sys

for number in range(3 * 1024):
    sys.stdout.write(f"{number:05d} " + "x" * 1017 + "\\n")
print("loud: done")
"""
FILL = """\
import os
from pathlib import Path

folder = Path(os.environ["QAAGENT_OUTPUT_DIR"])
disk = os.statvfs(folder)
(folder / "filler.bin").write_bytes(bytes(disk.f_bavail * disk.f_frsize - 24 * 1024))
print("fill: done")
"""


def add_suite(project: Path, name: str, script: str, *, retries: int = 0) -> str:
    """A profile with one command suite running `script`; returns the profile's file name."""
    (project / "tools" / f"{name}.py").write_text(script, encoding="utf-8")
    profile = f"{name}.yaml"
    (project / profile).write_text(
        f"project: {{name: {name}}}\n"
        "tests:\n  unit: {enabled: false}\n"
        f"suites:\n  {name}:\n    kind: command\n    command: [python, tools/{name}.py]\n"
        f"run: {{retry_count: {retries}}}\n",
        encoding="utf-8",
    )
    return profile


EXPECTED_FAILURES = """\
import pytest


def test_passes():
    assert True


@pytest.mark.xfail(reason="known bug")
def test_expected_failure():
    assert False


@pytest.mark.xfail(reason="fixed meanwhile")
def test_unexpected_pass():
    assert True
"""


def add_pytest_suite(project: Path, name: str, test_file: str) -> str:
    """A profile with one pytest suite of one test file; returns the profile's file name."""
    (project / name).mkdir()
    (project / name / f"test_{name}.py").write_text(test_file, encoding="utf-8")
    profile = f"{name}.yaml"
    (project / profile).write_text(
        f"project: {{name: {name}}}\n"
        "tests:\n  unit: {enabled: false}\n"
        f"suites:\n  {name}:\n    kind: pytest\n    path: {name}\n",
        encoding="utf-8",
    )
    return profile


def summary(run_dir: Path) -> dict[str, object]:
    return dict(json.loads((run_dir / "reports" / "summary.json").read_text(encoding="utf-8")))


def test_a_retry_without_results_cannot_clear_a_failure(project: Path) -> None:
    profile = add_suite(project, "once", RESULTS_ONCE, retries=1)
    completed = run_all(project, "--config", profile)
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert (manifest.status, manifest.exit_code) == (RunStatus.error, 3)
    (task,) = manifest.tasks
    assert task.outcome == "error"
    assert len(task.attempts) == 2
    assert "without writing JUnit XML" in (task.error or "")
    assert (manifest.counts.failed, manifest.counts.passed) == (1, 0)
    run = summary(run_dir)["run"]
    assert isinstance(run, dict)
    assert (run["status"], run["exit_code"]) == ("error", 3)
    suites = ElementTree.parse(run_dir / "reports" / "junit.xml").getroot()
    assert suites.get("failures") == "1"
    assert suites.get("errors") == "1"


def test_a_pytest_collection_error_is_exit_3_not_tests_failed(project: Path) -> None:
    profile = add_pytest_suite(project, "broken", "import module_that_does_not_exist\n")
    completed = run_all(project, "--config", profile)
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    (task,) = checked_manifest(run_dir).tasks
    assert task.outcome == "error"
    assert task.error == (
        "collection failed: broken.test_broken: "
        "ModuleNotFoundError: No module named 'module_that_does_not_exist'"
    )


def test_expected_failures_and_unexpected_passes_have_their_own_counts_in_every_report(
    project: Path,
) -> None:
    profile = add_pytest_suite(project, "expected", EXPECTED_FAILURES)
    completed = run_all(project, "--config", profile)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert (manifest.counts.passed, manifest.counts.xfailed, manifest.counts.xpassed) == (1, 1, 1)
    assert manifest.counts.skipped == 0
    data = summary(run_dir)
    assert data["schema_version"] == 2
    assert data["counts"] == {
        **dict.fromkeys(("failed", "errors", "skipped", "flaky"), 0),
        **dict.fromkeys(("timed_out", "interrupted", "not_run"), 0),
        "cost": None,
        **{"total": 3, "passed": 1, "xfailed": 1, "xpassed": 1},
    }
    suite = ElementTree.parse(run_dir / "reports" / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    properties = {item.get("name"): item.get("value") for item in suite.iter("property")}
    assert (properties["qaagent.xfailed"], properties["qaagent.xpassed"]) == ("1", "1")
    html = (run_dir / "reports" / "report.html").read_text(encoding="utf-8")
    assert '<div class="label">xfailed</div>' in html
    header = next(line for line in completed.stdout.splitlines() if line.startswith("task"))
    assert header.split()[-3:] == ["xfailed", "xpassed", "duration"]


def test_output_that_is_not_utf8_is_never_an_exit_1_or_a_traceback(project: Path) -> None:
    profile = add_suite(project, "bytes", NOT_UTF8)
    completed = subprocess.run(
        command("--config", profile),
        cwd=project,
        env={**environment(), "PYTHONIOENCODING": "ascii", "LC_ALL": "C"},
        capture_output=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode == 3, stderr
    assert "Traceback" not in stderr


def test_a_deleted_current_folder_is_a_usage_error_without_a_traceback(
    project: Path, tmp_path: Path
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    process = subprocess.Popen(
        ["/bin/sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$@"', "sh", *command()],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    assert process.returncode == 2, stderr
    assert stderr.startswith("qaagent: error: The current folder no longer exists")
    assert "Traceback" not in stderr


def test_deleting_the_current_folder_mid_run_still_writes_the_evidence(
    project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    process = subprocess.Popen(
        command("--config", str(project / "qaagent.yaml"), "--suite", "lint"),
        cwd=elsewhere,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    while "start  lint" not in process.stdout.readline():
        pass
    elsewhere.rmdir()
    output, _ = process.communicate(timeout=RUN_TIMEOUT)
    assert "Traceback" not in output
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert process.returncode == manifest.exit_code == 0, output
    assert manifest.cwd == str(elsewhere)


@contextlib.contextmanager
def locked_history(runs_dir: Path) -> Iterator[sqlite3.Connection]:
    """The history held under an exclusive lock by another connection."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(
        sqlite3.connect(runs_dir / "history.sqlite3", isolation_level=None)
    ) as holder:
        holder.execute("CREATE TABLE IF NOT EXISTS held (x)")
        holder.execute("BEGIN EXCLUSIVE")
        yield holder


def test_a_locked_history_is_one_warning_and_the_run_goes_on(project: Path) -> None:
    runs_dir = project / ".qaagent" / "runs"
    with locked_history(runs_dir):
        completed = run_all(project, "--suite", "lint")
    assert completed.returncode == 0, completed.stderr
    history = str(runs_dir / "history.sqlite3")
    warnings = [line for line in completed.stderr.splitlines() if "cannot be read" in line]
    assert warnings == [
        f"qaagent: warning: the run history {history} cannot be read (database is locked); "
        "running without it."
    ]
    assert "the run was not added to the history" in completed.stderr
    (run_dir,) = run_dirs(project)
    assert checked_manifest(run_dir).exit_code == 0


def test_a_corrupt_history_is_a_warning_and_last_failed_still_reads_the_runs(
    project: Path,
) -> None:
    assert run_all(project, "--suite", "checks", "--suite", "lint").returncode == 1
    history = project / ".qaagent" / "runs" / "history.sqlite3"
    history.write_bytes(b"\x00garbage, not a database\xff" * 100)
    completed = run_all(project, "--last-failed")
    assert completed.returncode == 1, completed.stderr
    assert completed.stderr.startswith(
        f"qaagent: warning: the run history {history} cannot be read ("
    )
    assert "Traceback" not in completed.stderr
    latest = checked_manifest(run_dirs(project)[-1])
    assert [task.name for task in latest.tasks] == ["checks"]


def test_a_signal_after_the_manifest_leaves_the_bookkeeping_done_and_the_exit_code_agreeing(
    project: Path,
) -> None:
    runs_dir = project / ".qaagent" / "runs"
    with locked_history(runs_dir) as holder:
        process = subprocess.Popen(
            command("--suite", "lint"),
            cwd=project,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        latest = runs_dir / "latest"
        deadline = time.monotonic() + RUN_TIMEOUT
        while not (latest / MANIFEST_NAME).exists():
            assert time.monotonic() < deadline, "the run never wrote its manifest"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGTERM)
        holder.execute("ROLLBACK")
        _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert process.returncode == manifest.exit_code == 0, stderr
    assert "Traceback" not in stderr
    assert "qaagent: warning: SIGINT arrived after the evidence was written" in stderr
    with contextlib.closing(sqlite3.connect(runs_dir / "history.sqlite3")) as db:
        recorded = db.execute("SELECT run_id FROM runs").fetchall()
    assert recorded == [(manifest.run_id,)]


def importing_the_command_line(pid: int) -> bool:
    """Whether the process is past Python's start-up, among the imports of qaagent's command line.

    The `_json` extension is loaded by those imports and not by the interpreter's own start-up,
    before which no program can catch Ctrl-C.
    """
    return "/_json." in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1, 0.15, 0.2, 0.3])
def test_an_early_ctrl_c_exits_130_quietly(project: Path, delay: float) -> None:
    process = subprocess.Popen(
        command("--suite", "lint"),
        cwd=project,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + RUN_TIMEOUT
    while not importing_the_command_line(process.pid):
        assert time.monotonic() < deadline, "qaagent never started its imports"
        time.sleep(0.001)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs for the runs; skipped where it cannot be mounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def run_on_small_disk(project: Path, disk: Path, profile: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("--config", profile),
        cwd=project,
        env={**environment(), "QAAGENT_RUNS_DIR": str(disk)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def test_a_task_that_fills_the_disk_with_output_is_an_infrastructure_error(
    project: Path, small_disk: Path
) -> None:
    completed = run_on_small_disk(project, small_disk, add_suite(project, "loud", LOUD))
    assert completed.returncode == 3, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    (run_dir,) = [path for path in small_disk.iterdir() if path.name.startswith("2")]
    assert f"qaagent: error: The evidence could not be written completely to {run_dir} " in (
        completed.stderr
    )
    assert "passed loud" in completed.stdout
    assert f"The manifest could not be written to {run_dir}" in completed.stderr
    assert "The run: 1 passed, 0 failed, 0 errors" in completed.stderr
    assert not (run_dir / MANIFEST_NAME).exists()


def test_a_disk_full_during_the_post_phase_keeps_what_fits_with_the_manifest_last(
    project: Path, small_disk: Path
) -> None:
    completed = run_on_small_disk(project, small_disk, add_suite(project, "fill", FILL))
    assert completed.returncode == 3, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    (run_dir,) = [path for path in small_disk.iterdir() if path.name.startswith("2")]
    manifest = checked_manifest(run_dir)
    assert (manifest.status, manifest.exit_code) == (RunStatus.error, 3)
    assert [task.outcome for task in manifest.tasks] == ["passed"]
    assert not (run_dir / "reports").exists()
    assert f"could not be written completely to {run_dir}" in completed.stderr
