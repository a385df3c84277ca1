"""Reading run directories back and resolving RUN (id, unique prefix, latest)."""

from datetime import timedelta
from pathlib import Path

import pytest
from rundir_builder import START, Job, T, build_run

from qaagent.errors import ExitCode, UsageError
from qaagent.evidence.stored import RunReadError, load_run, resolve_run, stored_runs


def three_runs(runs_dir: Path) -> None:
    for offset, run_id in enumerate(
        ["20261122-0600-aaaa", "20261122-0700-abcd", "20261122-0800-bbbb"]
    ):
        build_run(
            runs_dir,
            run_id,
            [Job("unit", tests=[T("t::a")])],
            started_at=START + timedelta(hours=offset),
        )


def test_runs_are_listed_newest_first_and_folders_without_manifest_are_ignored(
    tmp_path: Path,
) -> None:
    three_runs(tmp_path)
    (tmp_path / "20261122-0900-running").mkdir()
    (tmp_path / "latest").symlink_to("20261122-0800-bbbb")
    (tmp_path / "history.sqlite3").write_bytes(b"")
    assert [run.run_id for run in stored_runs(tmp_path)] == [
        "20261122-0800-bbbb",
        "20261122-0700-abcd",
        "20261122-0600-aaaa",
    ]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("latest", "20261122-0800-bbbb"),
        ("20261122-0700-abcd", "20261122-0700-abcd"),
        ("20261122-06", "20261122-0600-aaaa"),
        ("20261122-0800", "20261122-0800-bbbb"),
    ],
)
def test_run_is_found_by_id_prefix_or_latest(tmp_path: Path, ref: str, expected: str) -> None:
    three_runs(tmp_path)
    assert resolve_run(tmp_path, ref) == tmp_path / expected


def test_ambiguous_and_unknown_runs_are_usage_errors(tmp_path: Path) -> None:
    three_runs(tmp_path)
    with pytest.raises(UsageError, match="ambiguous: it starts 3 run ids") as ambiguous:
        resolve_run(tmp_path, "2026")
    assert ambiguous.value.exit_code is ExitCode.USAGE_ERROR
    with pytest.raises(UsageError, match="No run 'nope'"):
        resolve_run(tmp_path, "nope")
    with pytest.raises(UsageError, match="No runs in"):
        resolve_run(tmp_path / "empty", "latest")


def test_broken_evidence_is_reported_with_file_and_line(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path, "r1", [Job("unit", tests=[T("t::a")])])
    with (run_dir / "evidence" / "tests.jsonl").open("a", encoding="utf-8") as records:
        records.write('{"id": "x"}\n')
    with pytest.raises(RunReadError, match=r"tests\.jsonl:2 is not a valid test record"):
        load_run(run_dir)
    with pytest.raises(RunReadError, match=r"has no manifest\.json"):
        load_run(tmp_path)


def test_interrupted_run_without_records_still_loads(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path, "r1", [Job("unit", tests=[T("t::a")])])
    (run_dir / "evidence" / "tests.jsonl").unlink()
    (run_dir / "evidence" / "diagnostics.json").unlink()
    bundle = load_run(run_dir)
    assert list(bundle.records) == []
    assert bundle.diagnostics is None
    assert bundle.manifest.tasks[0].name == "unit"
