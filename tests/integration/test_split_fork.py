"""`split_mode: fork` on real pytest suites: one pytest collects once and forks its parts."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
from qaagent_process import environment, qaagent
from test_run_all import (
    checked_manifest,
    processes_left,
    records,
    run_all,
    run_dirs,
    start_run_all,
    wait_for_processes,
)
from test_split import BROKEN, FIXTURE, TimelineBars, in_processes

from qaagent.model.outcomes import TaskOutcome
from qaagent.tools.pytest_tool import PLUGIN_DIR

LABELS = [f"unit[shard={number}/3]" for number in (1, 2, 3)]


def copied(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    root = tmp_path_factory.mktemp(name) / "project"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.fixture(scope="module")
def forked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copied(tmp_path_factory, "fork")
    completed = run_all(root, "--report", "all")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    return root


@pytest.fixture(scope="module")
def in_separate_processes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copied(tmp_path_factory, "processes")
    in_processes(root)
    completed = run_all(root, "--report", "all")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    return root


def junit_cases(run_dir: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """The report's JUnit cases: class name, name and the tags of their results, sorted."""
    tree = ElementTree.parse(run_dir / "reports" / "junit.xml")
    return sorted(
        (
            case.get("classname", ""),
            case.get("name", ""),
            tuple(sorted(child.tag for child in case if child.tag != "properties")),
        )
        for case in tree.iter("testcase")
    )


def test_fork_mode_results_equal_process_mode(forked: Path, in_separate_processes: Path) -> None:
    fork_run, process_run = run_dirs(forked)[-1], run_dirs(in_separate_processes)[-1]
    fork_task = checked_manifest(fork_run).tasks[0]
    process_task = checked_manifest(process_run).tasks[0]
    assert fork_task.counts == process_task.counts
    assert fork_task.outcome is process_task.outcome is TaskOutcome.failed
    fork_ids = sorted((r.test_id, r.status, r.attempt) for r in records(fork_run))
    process_ids = sorted((r.test_id, r.status, r.attempt) for r in records(process_run))
    assert fork_ids == process_ids
    assert len({test_id for test_id, _, _ in fork_ids}) == 14
    assert junit_cases(fork_run) == junit_cases(process_run)


def test_each_forked_part_is_a_segment_with_its_own_log(forked: Path) -> None:
    run_dir = run_dirs(forked)[-1]
    task = checked_manifest(run_dir).tasks[0]
    assert [segment.label for segment in task.segments] == LABELS
    assert {segment.outcome for segment in task.segments} <= {
        TaskOutcome.passed,
        TaskOutcome.failed,
    }
    assert [segment.outcome for segment in task.segments].count(TaskOutcome.failed) == 1
    logs = [(run_dir / str(segment.log)).read_text("utf-8") for segment in task.segments]
    assert sum(BROKEN.rpartition("::")[2] in log for log in logs) == 1
    parser = TimelineBars()
    parser.feed((run_dir / "reports" / "report.html").read_text("utf-8"))
    assert sorted(label.partition("@")[0] for _, label in parser.bars) == LABELS


def test_a_retry_reruns_only_the_failed_test_and_last_failed_works(forked: Path) -> None:
    first = run_dirs(forked)[-1]
    assert {r.test_id for r in records(first) if r.attempt == 2} == {BROKEN}
    completed = run_all(forked, "--last-failed")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert {record.test_id for record in records(run_dirs(forked)[-1])} == {BROKEN}


def test_validate_says_which_mode_each_split_suite_uses(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    forking = qaagent("validate", cwd=root)
    assert forking.returncode == 0, forking.stderr
    assert "unit: split, fork mode; 3 parts (fork): no recorded durations" in forking.stdout
    in_processes(root)
    separate = qaagent("validate", cwd=root)
    assert "unit: split, processes mode; 3 parts (processes)" in separate.stdout


def test_fixed_parts_collect_only_their_files_and_new_tests_run_where_their_file_runs(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    first = ["tests/test_alpha.py::test_broken", "tests/test_beta.py::test_users"]
    second = ["tests/test_gamma.py::TestNumbers::test_add"]
    request = {
        "folder": str(tmp_path / "parts"),
        "labels": ["unit[shard=1/2]", "unit[shard=2/2]"],
        "parts": [first, second],
        "groups": [],
        "timeout": None,
    }
    (tmp_path / "fork.json").write_text(json.dumps(request), "utf-8")
    env = {
        **environment(),
        "PYTHONPATH": str(PLUGIN_DIR),
        "QAAGENT_PYTEST_FORK": str(tmp_path / "fork.json"),
        "QAAGENT_OUTPUT_DIR": str(tmp_path),
    }
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"]
    plugins = ["-p", "qaagent_pytest", "-p", "qaagent_fork", f"--junitxml={tmp_path / 'all.xml'}"]
    completed = subprocess.run(
        [*argv, *plugins],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr

    def node_ids(junit: Path) -> list[str]:
        tree = ElementTree.parse(junit)
        return [p.get("value", "") for p in tree.iter("property") if p.get("name") == "nodeid"]

    def files(ids: list[str]) -> set[str]:
        return {node_id.partition("::")[0] for node_id in ids}

    part_one = node_ids(tmp_path / "parts" / "part-1" / "junit.xml")
    part_two = node_ids(tmp_path / "parts" / "part-2" / "junit.xml")
    new_file = {"tests/test_delta.py"}
    assert files(part_one) - new_file == {"tests/test_alpha.py", "tests/test_beta.py"}
    assert files(part_two) - new_file == {"tests/test_gamma.py"}
    assert (new_file <= files(part_one)) != (new_file <= files(part_two))
    assert sorted(node_ids(tmp_path / "all.xml")) == sorted(part_one + part_two)
    assert len(set(part_one + part_two)) == len(part_one + part_two) == 14
    for part in ("part-1", "part-2"):
        log = (tmp_path / "parts" / part / "output.log").read_text("utf-8")
        assert "deselected" not in log, log
    timed = json.loads((tmp_path / "parts" / "part-1" / "collection.json").read_text("utf-8"))
    assert set(timed) == files(part_one) - {"tests/test_alpha.py"}


HANGING_PROFILE = """\
tests:
  unit:
    path: tests
    split: 2
    timeout: 5
  behave:
    enabled: false
  e2e:
    enabled: false
run:
  parallel: true
  max_workers: 2
"""


def small_project(
    root: Path, conftest: str = "", profile: str = HANGING_PROFILE, pause: float = 0.0
) -> Path:
    """Two quick tests and one that hangs when asked; each quick one sleeps `pause`, the other
    twice that, so recorded durations make two equal files."""
    (root / "tests").mkdir(parents=True)
    (root / "qaagent.yaml").write_text(profile, "utf-8")
    (root / "tests" / "conftest.py").write_text(conftest, "utf-8")
    (root / "tests" / "test_quick.py").write_text(
        f"import time\n\n\ndef test_one() -> None:\n    time.sleep({pause})\n\n\n"
        f"def test_two() -> None:\n    time.sleep({pause})\n",
        "utf-8",
    )
    (root / "tests" / "test_slow.py").write_text(
        "import os, time\n\n\ndef test_hangs() -> None:\n"
        f"    time.sleep(120 if os.environ.get('HANG_HERE') else {2 * pause})\n",
        "utf-8",
    )
    return root


@pytest.mark.parametrize("recorded", [False, True], ids=["stealing", "forked-before-collection"])
def test_a_part_that_hangs_is_killed_and_reported_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded: bool
) -> None:
    root = small_project(tmp_path / "project", pause=0.3 if recorded else 0.0)
    if recorded:
        assert run_all(root).returncode == 0
    monkeypatch.setenv("HANG_HERE", "1")
    completed = run_all(root)
    assert completed.returncode != 0, completed.stdout + completed.stderr
    run_dir = run_dirs(root)[-1]
    task = checked_manifest(run_dir).tasks[0]
    endings = {segment.label: segment.outcome for segment in task.segments}
    assert sorted(endings.values(), key=str) == sorted(
        [TaskOutcome.passed, TaskOutcome.timed_out], key=str
    )
    statuses = {record.test_id: record.status.value for record in records(run_dir)}
    assert statuses["tests/test_quick.py::test_one"] == "passed"
    assert statuses["tests/test_quick.py::test_two"] == "passed"
    assert statuses["tests/test_slow.py::test_hangs"] == "timed-out"
    assert (task.outcome, task.counts.timed_out, task.counts.errors) == ("timed-out", 1, 0)
    assert completed.returncode == 3
    if recorded:
        logs = run_dir.glob("artifacts/unit/attempt-1/parts/part-*/output.log")
        collected = sorted(
            line
            for log in logs
            for line in log.read_text("utf-8").splitlines()
            if line.startswith("collected ")
        )
        assert collected == ["collected 1 item", "collected 2 items"]


def test_threads_alive_after_collection_start_the_parts_as_processes(tmp_path: Path) -> None:
    conftest = (
        "import threading, time\n\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    )
    profile = HANGING_PROFILE.replace("    timeout: 5\n", "")
    root = small_project(tmp_path / "project", conftest, profile)
    completed = run_all(root)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    run_dir = run_dirs(root)[-1]
    task = checked_manifest(run_dir).tasks[0]
    assert len(task.segments) == 2
    assert task.counts.passed == 3
    log = (run_dir / str(task.log)).read_text("utf-8")
    assert "threads are alive after collection; parts run as processes" in log


@pytest.mark.parametrize("recorded", [False, True], ids=["stealing", "forked-before-collection"])
def test_ctrl_c_stops_every_forked_part_and_keeps_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded: bool
) -> None:
    profile = HANGING_PROFILE.replace("    timeout: 5\n", "")
    root = small_project(tmp_path / "project", profile=profile, pause=0.3 if recorded else 0.0)
    if recorded:
        assert run_all(root).returncode == 0
    monkeypatch.setenv("HANG_HERE", "1")
    process = start_run_all(root)
    wait_for_processes(root, ["qaagent_fork"])
    while not list(root.glob(".qaagent/runs/*/artifacts/unit/attempt-1/parts/part-*/feed.jsonl")):
        assert process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert processes_left(root) == []
    task = checked_manifest(run_dirs(root)[-1]).tasks[0]
    assert task.outcome is TaskOutcome.interrupted


def test_a_split_suite_run_under_xdist_runs_whole_as_xdist_shares_it(tmp_path: Path) -> None:
    profile = HANGING_PROFILE.replace("    timeout: 5\n", '    args: ["-n", "2"]\n')
    root = small_project(tmp_path / "project", profile=profile)
    completed = run_all(root)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    statuses = sorted(record.test_id for record in records(run_dirs(root)[-1]))
    assert statuses == [
        "tests/test_quick.py::test_one",
        "tests/test_quick.py::test_two",
        "tests/test_slow.py::test_hangs",
    ]
