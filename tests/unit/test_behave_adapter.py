"""The behave command lines: JUnit per feature, rerun file, retries of recorded locations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qaagent.model.outcomes import CaseStatus, TestCase
from qaagent.model.task import Task
from qaagent.tools.base import RunContext
from qaagent.tools.behave_tool import (
    LIVE_FORMATTER,
    PLUGIN_DIR,
    RERUN_FILE,
    SELECTION_FILE,
    BehaveAdapter,
    absolute_locations,
    latest_rerun_file,
)


def make_task(cwd: Path, path: Path | None, args: tuple[str, ...] = ()) -> Task:
    """A behave task as the plan would build it."""
    return Task(
        name="behave",
        suite="behave",
        kind="behave",
        path=path,
        cwd=cwd,
        args=args,
        retry_count=1,
    )


def failed_case(name: str) -> TestCase:
    return TestCase(id=f"calculator.Calculator::{name}", name=name, status=CaseStatus.failed)


def option_value(argv: list[str], option: str) -> str:
    return argv[argv.index(option) + 1]


def test_first_attempt_runs_the_suite_path_with_junit_and_rerun_file(tmp_path: Path) -> None:
    attempt = tmp_path / "out" / "attempt-1"
    task = make_task(tmp_path, tmp_path / "features", args=("--tags=-@wip",))

    invocation = BehaveAdapter().invocation(task, RunContext(output_dir=tmp_path), attempt, [])

    argv = invocation.argv
    assert argv[1:4] == ["-m", "behave", str(tmp_path / "features")]
    assert "--junit" in argv
    assert option_value(argv, "--junit-directory") == str(attempt / "junit")
    assert argv[-2:] == ["--tags=-@wip", "--show-skipped"]
    assert invocation.junit == attempt / "junit"
    assert invocation.cwd == tmp_path


def test_each_format_is_paired_with_its_own_outfile(tmp_path: Path) -> None:
    attempt = tmp_path / "attempt-1"
    invocation = BehaveAdapter().invocation(
        make_task(tmp_path, None), RunContext(output_dir=tmp_path), attempt, []
    )

    argv = invocation.argv
    formats = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--format"]
    outfiles = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--outfile"]
    assert formats == ["rerun", "progress", LIVE_FORMATTER]
    assert outfiles == [str(attempt / RERUN_FILE), "-", os.devnull]


def test_the_live_formatter_loads_from_the_plugin_folder_before_the_suites_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/suite/lib")
    invocation = BehaveAdapter().invocation(
        make_task(tmp_path, None), RunContext(output_dir=tmp_path), tmp_path / "attempt-1", []
    )

    assert invocation.env["PYTHONPATH"] == os.pathsep.join([str(PLUGIN_DIR), "/suite/lib"])
    assert (PLUGIN_DIR / f"{LIVE_FORMATTER.partition(':')[0]}.py").is_file()


def test_retry_selects_earlier_rerun_locations_as_absolute_paths(tmp_path: Path) -> None:
    first, second = tmp_path / "attempt-1", tmp_path / "attempt-2"
    first.mkdir()
    (first / RERUN_FILE).write_text(
        "# -- RERUN: 2 failing scenarios during last test run.\n"
        "features/calculator.feature:19\n"
        "features/calculator.feature:24\n\n"
    )
    task = make_task(tmp_path / "project", tmp_path / "project" / "features")

    invocation = BehaveAdapter().invocation(
        task, RunContext(output_dir=tmp_path), second, [failed_case("A"), failed_case("B")]
    )

    selection = second / SELECTION_FILE
    assert f"@{selection}" in invocation.argv
    assert str(task.path) not in invocation.argv
    assert selection.read_text().splitlines() == [
        f"{tmp_path}/project/features/calculator.feature:19",
        f"{tmp_path}/project/features/calculator.feature:24",
    ]
    assert invocation.argv[-1] == "--no-skipped"
    assert invocation.partial


def test_retry_without_rerun_file_runs_everything_and_says_so(tmp_path: Path) -> None:
    task = make_task(tmp_path, tmp_path / "features")

    invocation = BehaveAdapter().invocation(
        task, RunContext(output_dir=tmp_path), tmp_path / "attempt-2", [failed_case("A")]
    )

    assert str(task.path) in invocation.argv
    assert invocation.notes
    assert not invocation.partial


def test_latest_rerun_file_is_the_newest_earlier_attempt(tmp_path: Path) -> None:
    for number, mtime in ((1, 100), (2, 200)):
        rerun = tmp_path / f"attempt-{number}" / RERUN_FILE
        rerun.parent.mkdir()
        rerun.write_text("features/a.feature:3\n")
        os.utime(rerun, (mtime, mtime))
    current = tmp_path / "attempt-3"
    current.mkdir()
    (current / RERUN_FILE).write_text("stale\n")

    assert latest_rerun_file(current) == tmp_path / "attempt-2" / RERUN_FILE


def test_absolute_locations_keep_absolute_entries(tmp_path: Path) -> None:
    rerun = tmp_path / RERUN_FILE
    rerun.write_text("# comment\n/elsewhere/b.feature:7\nfeatures/a.feature:3\n")

    assert absolute_locations(rerun, tmp_path / "cwd") == [
        "/elsewhere/b.feature:7",
        f"{tmp_path}/cwd/features/a.feature:3",
    ]


def test_usage_error_is_an_infrastructure_error_but_failures_are_not() -> None:
    adapter = BehaveAdapter()

    assert adapter.infrastructure_error(2, []) is not None
    assert adapter.infrastructure_error(1, [failed_case("A")]) is None


def test_rerun_file_is_listed_as_artifact_only_when_written(tmp_path: Path) -> None:
    adapter = BehaveAdapter()
    invocation = adapter.invocation(
        make_task(tmp_path, None), RunContext(output_dir=tmp_path), tmp_path, []
    )
    assert adapter.artifacts(tmp_path, invocation) == []

    (tmp_path / RERUN_FILE).write_text("features/a.feature:3\n")
    assert adapter.artifacts(tmp_path, invocation) == [tmp_path / RERUN_FILE]


def test_suite_command_replaces_this_interpreters_behave(tmp_path: Path) -> None:
    task = make_task(tmp_path, None).model_copy(update={"command": ("/venv/bin/behave",)})

    argv = BehaveAdapter().invocation(task, RunContext(output_dir=tmp_path), tmp_path, []).argv

    assert argv[0] == "/venv/bin/behave"
    assert "--junit" in argv
