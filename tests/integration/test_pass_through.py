"""`qaagent run-all -- ARGS`: the arguments after `--` reach every selected suite's tool."""

from __future__ import annotations

import shutil
from pathlib import Path

from test_reports_run_all import qaagent

from qaagent.evidence.models import Manifest
from qaagent.evidence.stored import load_run, resolve_run
from qaagent.model.outcomes import Counts

FIXTURES = Path(__file__).parents[1] / "fixtures"


def copied(fixture: str, tmp_path: Path, profile: str) -> Path:
    project = Path(shutil.copytree(FIXTURES / fixture, tmp_path / "project"))
    (project / "qaagent.yaml").write_text(profile, encoding="utf-8")
    return project


def latest_manifest(project: Path) -> Manifest:
    return load_run(resolve_run(project / ".qaagent" / "runs", "latest")).manifest


def test_k_after_the_double_dash_narrows_a_pytest_run_and_its_retry(tmp_path: Path) -> None:
    project = copied("pytest_project", tmp_path, "tests: {unit: {path: tests}}\n")
    result = qaagent(project, "run-all", "--retries", "1", "--", "-k", "test_passes or test_fails")
    assert result.returncode == 1, result.stdout + result.stderr
    manifest = latest_manifest(project)
    (task,) = manifest.tasks
    assert task.counts == Counts(passed=1, failed=1)
    assert [attempt.command[-2:] for attempt in task.attempts] == [["-p", "qaagent_pytest"]] * 2
    assert all("test_passes or test_fails" in attempt.command for attempt in task.attempts)
    assert manifest.argv[-3:] == ["--", "-k", "test_passes or test_fails"]
    assert manifest.settings["tasks"]["unit"]["cli_args"] == ["-k", "test_passes or test_fails"]


def test_arguments_after_the_double_dash_reach_behave(tmp_path: Path) -> None:
    project = copied("behave_project", tmp_path, "tests: {behave: {path: features}}\n")
    result = qaagent(project, "run-all", "--", "--name", "Adding two numbers")
    assert result.returncode == 0, result.stdout + result.stderr
    (task,) = latest_manifest(project).tasks
    assert (task.counts.passed, task.counts.failed, task.counts.errors) == (1, 0, 0)


def test_arguments_after_the_double_dash_are_appended_to_a_command(tmp_path: Path) -> None:
    project = copied(
        "run_projects", tmp_path, (FIXTURES / "run_projects" / "qaagent.yaml").read_text()
    )
    result = qaagent(project, "run-all", "--suite", "evals*", "--", "--passed", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    tasks = latest_manifest(project).tasks
    assert [task.counts.passed for task in tasks] == [5, 5]
    assert all(task.attempts[0].command[-2:] == ["--passed", "5"] for task in tasks)


def test_an_unknown_option_before_the_double_dash_is_still_a_usage_error(tmp_path: Path) -> None:
    project = copied("pytest_project", tmp_path, "tests: {unit: {path: tests}}\n")
    for argv in (["--bogus"], ["stray"], ["--bogus", "--", "-k", "x"]):
        result = qaagent(project, "run-all", *argv)
        assert result.returncode == 2, (argv, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (project / ".qaagent").exists()
