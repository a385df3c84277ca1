"""`runs prune` when a run folder cannot be removed (a read-only artifact store, say)."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from rundir_builder import START, Job, T, build_run

from qaagent.commands.runs_cmd import prune_runs
from qaagent.errors import UsageError


def test_a_run_that_cannot_be_removed_is_one_paragraph_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    for hour in range(3):
        jobs = [Job("unit", tests=[T("t::ok")])]
        build_run(runs, f"run-{hour}", jobs, started_at=START + timedelta(hours=hour))
    removable = shutil.rmtree

    def refuse_the_oldest(path: Path) -> None:
        if path.name == "run-0":
            raise PermissionError(13, "Permission denied", "manifest.json")
        removable(path)

    monkeypatch.setattr(shutil, "rmtree", refuse_the_oldest)
    with pytest.raises(UsageError) as caught:
        prune_runs(keep=1, dry_run=False, config=None, runs_dir=runs)
    assert caught.value.message == (
        f"{runs / 'run-0'} cannot be removed (Permission denied); 1 runs were removed before it."
    )
    assert sorted(path.name for path in runs.iterdir() if path.name.startswith("run-")) == [
        "run-0",
        "run-2",
    ]
