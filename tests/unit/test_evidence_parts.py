"""The runs of a plan's CI parts merged into one: the later run of a part, tasks joined."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rundir_builder import START, Job, T, build_run

from qaagent.errors import UsageError
from qaagent.evidence.models import MANIFEST_NAME, Manifest, PartEntry
from qaagent.evidence.parts import MissingPartError, chosen_parts, merge_part_runs
from qaagent.model.outcomes import TaskOutcome


def part_run(
    runs_dir: Path,
    run_id: str,
    index: int,
    jobs: list[Job],
    *,
    total: int = 2,
    digest: str = "d1",
    started_at: datetime = START,
) -> Path:
    """A stored run that was part `index` of `total` of the plan `digest`."""
    run_dir = build_run(runs_dir, run_id, jobs, started_at=started_at)
    manifest = Manifest.model_validate_json((run_dir / MANIFEST_NAME).read_bytes())
    manifest.part = PartEntry(index=index, total=total, digest=digest)
    (run_dir / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return run_dir


def test_a_part_run_twice_keeps_the_later_run(tmp_path: Path) -> None:
    failed = part_run(tmp_path, "a", 1, [Job("unit", [T("t::x", ["failed"])])])
    retried = part_run(
        tmp_path, "b", 1, [Job("unit", [T("t::x")])], started_at=START + timedelta(hours=1)
    )
    second = part_run(tmp_path, "c", 2, [Job("unit", [T("t::y")])])
    chosen = chosen_parts([retried, second, failed])
    assert [bundle.run_dir for bundle in chosen] == [retried, second]


def test_parts_of_different_plans_are_refused_naming_both(tmp_path: Path) -> None:
    first = part_run(tmp_path, "a", 1, [Job("unit", [T("t::x")])])
    other = part_run(tmp_path, "b", 2, [Job("unit", [T("t::y")])], digest="d2")
    with pytest.raises(UsageError) as raised:
        chosen_parts([first, other])
    assert str(first) in raised.value.message and str(other) in raised.value.message


def test_a_missing_part_is_an_infrastructure_error_naming_it(tmp_path: Path) -> None:
    first = part_run(tmp_path, "a", 1, [Job("unit", [T("t::x")])], total=3)
    with pytest.raises(MissingPartError, match="part 2/3, 3/3"):
        chosen_parts([first])
    assert MissingPartError.exit_code == 3


def test_a_run_without_part_cannot_be_merged(tmp_path: Path) -> None:
    plain = build_run(tmp_path, "a", [Job("unit", [T("t::x")])])
    with pytest.raises(UsageError, match="without --part"):
        chosen_parts([plain])


def test_a_task_of_two_parts_is_one_task_with_its_files_under_each_part(tmp_path: Path) -> None:
    first = part_run(tmp_path, "a", 1, [Job("unit", [T("t::x"), T("t::y", ["failed"])])])
    second = part_run(tmp_path, "b", 2, [Job("unit", [T("t::z")]), Job("api", [T("a::q")])])
    merged = tmp_path / "merged"
    merged.mkdir()
    manifest = merge_part_runs(chosen_parts([first, second]), merged, "m", ["qaagent", "merge"])
    unit = manifest.tasks[0]
    assert (unit.name, unit.counts.passed, unit.counts.failed) == ("unit", 2, 1)
    assert unit.outcome is TaskOutcome.failed
    assert [segment.log for segment in unit.segments] == [
        "artifacts/unit/part-1/output.log",
        "artifacts/unit/part-2/output.log",
    ]
    assert all((merged / str(segment.log)).is_file() for segment in unit.segments)
    assert (manifest.exit_code, manifest.parts) == (1, ["a", "b"])
    assert (merged / MANIFEST_NAME).is_file()


def test_the_merged_exit_code_follows_the_rules_of_a_local_run(tmp_path: Path) -> None:
    first = part_run(tmp_path, "a", 1, [Job("unit", [T("t::x")])])
    crashed = part_run(tmp_path, "b", 2, [Job("api", outcome=TaskOutcome.error, error="crash")])
    merged = tmp_path / "merged"
    merged.mkdir()
    manifest = merge_part_runs(chosen_parts([first, crashed]), merged, "m", [])
    assert (manifest.exit_code, manifest.status) == (3, "error")
