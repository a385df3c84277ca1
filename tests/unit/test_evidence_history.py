"""History over a sequence of runs: durations, last failed tests, flaky tests."""

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from rundir_builder import START, Job, T, build_run

from qaagent.evidence import history
from qaagent.model.outcomes import TaskOutcome


def record(runs_dir: Path, run_id: str, hour: int, jobs: list[Job]) -> Path:
    run_dir = build_run(runs_dir, run_id, jobs, started_at=START + timedelta(hours=hour))
    history.record_run(runs_dir, run_dir)
    return run_dir


def test_task_durations_are_medians_of_recent_runs_that_ran(tmp_path: Path) -> None:
    for hour, seconds in enumerate([100.0, 10.0, 12.0, 11.0, 50.0, 13.0]):
        record(
            tmp_path,
            f"run-{hour}",
            hour,
            [Job("unit", duration=seconds), Job("lint", duration=2.0)],
        )
    record(tmp_path, "run-9", 9, [Job("unit", start=None, outcome=TaskOutcome.not_run)])
    durations = history.task_durations(tmp_path)
    assert durations == {"unit": 12.0, "lint": 2.0}


def test_test_durations_are_kept_per_task(tmp_path: Path) -> None:
    for hour, seconds in enumerate([1.0, 3.0, 2.0]):
        record(
            tmp_path,
            f"run-{hour}",
            hour,
            [
                Job(
                    "unit",
                    tests=[T("t.py::test_a", duration=seconds), T("t.py::test_s", ["skipped"])],
                ),
                Job("other", tests=[T("o.py::test_b", duration=9.0)]),
            ],
        )
    assert history.test_durations(tmp_path, "unit") == {"t.py::test_a": 2.0}
    assert history.test_durations(tmp_path, "missing") == {}


def test_test_counts_are_those_of_each_tasks_latest_recorded_run(tmp_path: Path) -> None:
    three = [T("t.py::a"), T("t.py::b"), T("t.py::s", ["skipped"])]
    record(tmp_path, "run-1", 1, [Job("unit", tests=three), Job("other", tests=[T("o.py::x")])])
    record(tmp_path, "run-2", 2, [Job("unit", tests=[T("t.py::a")])])
    assert history.test_counts(tmp_path) == {"unit": 1, "other": 1}


def test_last_failed_names_the_failed_tests_of_the_latest_run(tmp_path: Path) -> None:
    record(tmp_path, "run-1", 1, [Job("unit", tests=[T("t.py::test_old", ["failed"])])])
    record(
        tmp_path,
        "run-2",
        2,
        [
            Job(
                "unit",
                tests=[
                    T("t.py::test_a", ["failed", "failed"]),
                    T("t.py::test_flaky", ["failed", "passed"]),
                    T("t.py::test_err", ["error"]),
                    T("t.py::test_ok"),
                ],
            ),
            Job("behave", tests=[T("f.feature::ok")]),
            Job("evals", outcome=TaskOutcome.timed_out, error="timed out"),
            Job("e2e", start=None, outcome=TaskOutcome.not_run),
        ],
    )
    assert history.last_failed(tmp_path) == {
        "unit": ["t.py::test_a", "t.py::test_err"],
        "evals": [],
    }


def test_last_failed_is_empty_without_runs_or_when_all_passed(tmp_path: Path) -> None:
    assert history.last_failed(tmp_path) == {}
    record(tmp_path, "run-1", 1, [Job("unit", tests=[T("t.py::test_a")])])
    assert history.last_failed(tmp_path) == {}


def test_flaky_tests_over_the_last_runs(tmp_path: Path) -> None:
    runs = [
        {"t::steady": ["passed"], "t::retry": ["passed"], "t::late": ["passed"]},
        {"t::steady": ["failed"], "t::retry": ["failed", "passed"], "t::late": ["passed"]},
        {"t::steady": ["passed"], "t::retry": ["passed"], "t::late": ["failed"]},
    ]
    for hour, statuses in enumerate(runs):
        tests = [T(test_id, attempts) for test_id, attempts in statuses.items()]
        record(tmp_path, f"run-{hour}", hour, [Job("unit", tests=tests)])
    found = history.flaky_tests(tmp_path, last_n=3)
    assert [(test.test_id, test.runs, test.passed, test.failed, test.flaky) for test in found] == [
        ("t::late", 3, 2, 1, 0),
        ("t::retry", 3, 2, 0, 1),
        ("t::steady", 3, 2, 1, 0),
    ]
    assert [test.last_run for test in found] == ["run-2", "run-1", "run-1"]
    assert history.flaky_tests(tmp_path, last_n=1) == []


def test_recording_a_run_twice_replaces_it(tmp_path: Path) -> None:
    run_dir = record(tmp_path, "run-1", 1, [Job("unit", duration=5.0)])
    history.record_run(tmp_path, run_dir)
    assert history.task_durations(tmp_path) == {"unit": 5.0}


def test_two_runs_recorded_at_the_same_time_are_both_kept(tmp_path: Path) -> None:
    run_dirs = [
        build_run(tmp_path, f"run-{index}", [Job(f"task{index}", duration=float(index + 1))])
        for index in range(2)
    ]
    barrier = threading.Barrier(len(run_dirs))

    def recorder(run_dir: Path) -> None:
        barrier.wait()
        history.record_run(tmp_path, run_dir)

    threads = [threading.Thread(target=recorder, args=(run_dir,)) for run_dir in run_dirs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert history.task_durations(tmp_path) == {"task0": 1.0, "task1": 2.0}


def test_sync_records_runs_that_were_never_recorded(tmp_path: Path) -> None:
    build_run(tmp_path, "run-1", [Job("unit", duration=4.0)])
    assert history.sync_history(tmp_path) == ["run-1"]
    assert history.sync_history(tmp_path) == []
    assert history.task_durations(tmp_path) == {"unit": 4.0}


def test_a_damaged_history_file_is_named_with_a_way_out(tmp_path: Path) -> None:
    (tmp_path / history.HISTORY_NAME).write_text("not sqlite\n")
    with pytest.raises(history.HistoryError) as caught:
        history.task_durations(tmp_path)
    path = tmp_path / history.HISTORY_NAME
    assert caught.value.message.startswith(
        f"The run history {path} cannot be used (file is not a database)."
    )
    assert "Move the file away to start a new history" in caught.value.message


def test_startup_is_what_the_first_attempt_spent_besides_its_tests(tmp_path: Path) -> None:
    for hour, seconds in enumerate([5.0, 4.0, 6.0]):
        tests = [T("t.py::test_a", duration=1.0), T("t.py::test_b", duration=2.0)]
        record(tmp_path, f"run-{hour}", hour, [Job("unit", duration=seconds, tests=tests)])
    assert history.startup_seconds(tmp_path, "unit") == 2.0
    assert history.startup_seconds(tmp_path, "missing") is None


def test_a_forked_suite_starts_up_until_its_first_part_starts() -> None:
    from qaagent.evidence.models import SegmentEntry, TaskEntry

    later = START + timedelta(seconds=1.5)
    segments = [
        SegmentEntry(label=f"unit[shard={n}/2]", started_at=later, outcome=TaskOutcome.passed)
        for n in (1, 2)
    ]
    task = TaskEntry(
        name="unit",
        suite="unit",
        kind="pytest",
        outcome=TaskOutcome.passed,
        started_at=START,
        segments=segments,
    )
    assert history.startup_of(task, 9.0) == 1.5
    shards = task.model_copy(
        update={"segments": [s.model_copy(update={"started_at": START}) for s in segments]}
    )
    assert history.startup_of(shards, 9.0) is None


def test_collection_seconds_are_per_file_medians_and_a_file_collected_by_parts_counts_its_slowest(
    tmp_path: Path,
) -> None:
    for hour, seconds in enumerate([0.4, 0.2, 0.3]):
        run_id = f"run-{hour}"
        run_dir = build_run(
            tmp_path, run_id, [Job("unit", tests=[T("t/a.py::x")])], started_at=START
        )
        attempt = run_dir / "artifacts" / "unit" / "attempt-1"
        (attempt / "parts" / "part-1").mkdir(parents=True)
        (attempt / "parts" / "part-2").mkdir(parents=True)
        (attempt / "parts" / "part-1" / "collection.json").write_text(
            json.dumps({"t/a.py": seconds, "t/shared.py": 0.1}), "utf-8"
        )
        (attempt / "parts" / "part-2" / "collection.json").write_text(
            json.dumps({"t/b.py": 1.0, "t/shared.py": 0.5}), "utf-8"
        )
        history.record_run(tmp_path, run_dir)
    assert history.known_collection_seconds(tmp_path, "unit") == {
        "t/a.py": pytest.approx(0.3),
        "t/b.py": 1.0,
        "t/shared.py": 0.5,
    }
    assert history.known_collection_seconds(tmp_path, "other") == {}
