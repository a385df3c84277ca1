"""The post-phase: run ids, records, diagnostics, manifest with checksums, redaction."""

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_orchestrator import make_task, result_for

from qaagent.evidence.models import (
    DIAGNOSTICS_NAME,
    MANIFEST_NAME,
    TESTS_NAME,
    Category,
    Diagnostic,
    Diagnostics,
    Manifest,
    TestRecord,
)
from qaagent.evidence.redact import MASK, redact_argv, redact_env
from qaagent.evidence.rundir import create_run_dir, point_latest
from qaagent.evidence.writer import RunInfo, write_evidence, write_json_streamed
from qaagent.model.outcomes import CaseStatus, TaskOutcome, TestCase
from qaagent.model.results import Attempt, TaskResult
from qaagent.model.run import RunStatus

START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def test_run_ids_never_collide_within_one_second(tmp_path: Path) -> None:
    made = [create_run_dir(tmp_path, now=START) for _ in range(50)]
    assert len({run_id for run_id, _ in made}) == 50
    assert all(path.is_dir() and path.name.startswith("20261122T060000Z-") for _, path in made)


def test_latest_points_at_the_newest_run(tmp_path: Path) -> None:
    _, first = create_run_dir(tmp_path)
    _, second = create_run_dir(tmp_path)
    point_latest(tmp_path, first)
    point_latest(tmp_path, second)
    assert (tmp_path / "latest").resolve() == second.resolve()


def retried_result(run_dir: Path) -> TaskResult:
    """A task whose test failed, then passed on retry, with a log in its artifacts folder."""
    folder = run_dir / "artifacts" / "unit"
    folder.mkdir(parents=True)
    log = folder / "output.log"
    log.write_text("API_TOKEN=abc\n", encoding="utf-8")
    first = [
        TestCase(id="t::a", name="a", status=CaseStatus.failed, message="assert 1 == 2"),
        TestCase(id="t::dup", name="dup", status=CaseStatus.passed),
        TestCase(id="t::dup", name="dup", status=CaseStatus.passed),
    ]
    second = [TestCase(id="t::a", name="a", status=CaseStatus.passed, flaky=True)]
    attempts = [
        Attempt(
            number=1,
            command=["pytest", "--api-token", "s3cret", "PASSWORD=hunter2"],
            exit_code=1,
            started_at=START,
            finished_at=START + timedelta(seconds=2),
            cases=first,
            log_path=log,
        ),
        Attempt(
            number=2,
            command=["pytest", "t::a"],
            exit_code=0,
            started_at=START + timedelta(seconds=2),
            finished_at=START + timedelta(seconds=3),
            cases=second,
        ),
    ]
    result = result_for(make_task("unit"), TaskOutcome.passed, [second[0], first[1], first[2]])
    return result.model_copy(
        update={
            "attempts": attempts,
            "log_path": log,
            "started_at": START,
            "finished_at": START + timedelta(seconds=3),
        }
    )


def write_sample(tmp_path: Path) -> tuple[Path, Manifest]:
    run_id, run_dir = create_run_dir(tmp_path)
    info = RunInfo(
        run_id=run_id,
        status=RunStatus.passed,
        exit_code=0,
        started_at=START,
        finished_at=START + timedelta(seconds=4),
        argv=["qaagent", "run-all", "--auth-header", "Bearer x"],
        cwd=tmp_path,
        settings={"env": {"DB_PASSWORD": "hunter2", "MODE": "ci"}, "workers": 2},
    )
    not_run = TaskResult(task="e2e", suite="e2e", kind="command", outcome=TaskOutcome.not_run)
    return run_dir, write_evidence(run_dir, info, [retried_result(run_dir), not_run])


def test_manifest_is_written_last_and_indexes_every_other_file_with_its_sha256(
    tmp_path: Path,
) -> None:
    seen_by_reports: list[bool] = []

    def report(run_dir: Path, manifest: Manifest) -> None:
        seen_by_reports.append((run_dir / MANIFEST_NAME).exists())
        (run_dir / "reports").mkdir()
        (run_dir / "reports" / "summary.json").write_text("{}", encoding="utf-8")

    run_id, run_dir = create_run_dir(tmp_path)
    info = RunInfo(run_id, RunStatus.passed, 0, START, START + timedelta(seconds=1), cwd=tmp_path)
    write_evidence(run_dir, info, [retried_result(run_dir)], report_writers=[report])
    manifest = Manifest.model_validate_json((run_dir / MANIFEST_NAME).read_bytes())
    assert seen_by_reports == [False]
    on_disk = {
        path.relative_to(run_dir).as_posix()
        for path in run_dir.rglob("*")
        if path.is_file() and path.name != MANIFEST_NAME
    }
    assert {entry.path for entry in manifest.files} == on_disk
    assert "reports/summary.json" in on_disk
    for entry in manifest.files:
        assert entry.sha256 == hashlib.sha256((run_dir / entry.path).read_bytes()).hexdigest()
    assert not list(run_dir.glob(".manifest-*"))


def test_manifest_records_tasks_attempts_counts_and_times(tmp_path: Path) -> None:
    _, manifest = write_sample(tmp_path)
    unit, e2e = manifest.tasks
    assert unit.log == "artifacts/unit/output.log"
    assert [attempt.counts.failed for attempt in unit.attempts] == [1, 0]
    assert unit.counts.flaky == 1
    assert e2e.outcome is TaskOutcome.not_run
    assert manifest.counts.passed == 2
    assert manifest.wall_time == 4.0
    assert manifest.task_time == 3.0
    assert "python" in manifest.tool_versions and "qaagent" in manifest.tool_versions


def test_secret_looking_values_never_reach_the_manifest(tmp_path: Path) -> None:
    run_dir, manifest = write_sample(tmp_path)
    text = (run_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    for secret in ("hunter2", "s3cret", "Bearer x"):
        assert secret not in text
    assert manifest.settings["env"] == {"DB_PASSWORD": MASK, "MODE": "ci"}
    assert manifest.tasks[0].attempts[0].command == [
        "pytest",
        "--api-token",
        MASK,
        f"PASSWORD={MASK}",
    ]


def test_one_record_per_test_per_attempt_with_ids_unique_across_the_run(tmp_path: Path) -> None:
    run_dir, _ = write_sample(tmp_path)
    lines = (run_dir / TESTS_NAME).read_text(encoding="utf-8").splitlines()
    records = [TestRecord.model_validate_json(line) for line in lines]
    assert [(r.attempt, r.test_id, r.status, r.final, r.flaky) for r in records] == [
        (1, "t::a", CaseStatus.failed, False, False),
        (1, "t::dup", CaseStatus.passed, True, False),
        (1, "t::dup", CaseStatus.passed, True, False),
        (2, "t::a", CaseStatus.passed, True, True),
    ]
    assert len({record.id for record in records}) == len(records)


def test_diagnostics_name_the_flaky_test(tmp_path: Path) -> None:
    run_dir, _ = write_sample(tmp_path)
    diagnostics = Diagnostics.model_validate(
        json.loads((run_dir / DIAGNOSTICS_NAME).read_text(encoding="utf-8"))
    )
    assert [(item.test_id, item.category) for item in diagnostics.items] == [("t::a", "flaky")]


def test_redaction_of_environment_and_arguments() -> None:
    assert redact_env({"GITHUB_TOKEN": "x", "HOME": "/h"}) == {"GITHUB_TOKEN": MASK, "HOME": "/h"}
    assert redact_argv(["-k", "login", "--secret=abc", "--api-key", "k"]) == [
        "-k",
        "login",
        f"--secret={MASK}",
        "--api-key",
        MASK,
    ]


def test_json_written_an_item_at_a_time_is_the_text_of_the_whole_model() -> None:
    for count in (0, 1, 3):
        items = [
            Diagnostic(
                task="unit",
                test_id=f"t::line\u2028separator {number}",
                name='ü "quoted"',
                category=Category.assertion,
                message="first\r\nsecond\u2028third" if number else None,
                suggestion="Read the assertion.",
            )
            for number in range(count)
        ]
        stream = io.StringIO()
        write_json_streamed(stream, Diagnostics(run_id="r1"), "items", iter(items))
        whole = Diagnostics(run_id="r1", items=items).model_dump_json(indent=2) + "\n"
        assert stream.getvalue() == whole
