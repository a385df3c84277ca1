"""`qaagent run-all --last-failed` on a behave suite: only the failed scenarios run again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_reports_run_all import qaagent

from qaagent.evidence.stored import RunBundle, load_run, resolve_run
from qaagent.model.outcomes import Counts

FIXTURE = Path(__file__).parents[1] / "fixtures" / "behave_project"
OUTLINE_ROW = "calculator.Calculator::Doubling 4 -- @1.2 "
WRONG = "calculator.Calculator::A wrong expectation fails"
UNDEFINED = "calculator.Calculator::A step nobody wrote is undefined"
PROFILE = """\
project: {{name: behave-last-failed}}
tests:
  behave: {{path: features, env: {{QAAGENT_FLAKY_MARKER: "{marker}"}}}}
run: {{retry_count: 1}}
"""


def latest(project: Path) -> RunBundle:
    return load_run(resolve_run(project / ".qaagent" / "runs", "latest"))


def edit_feature(project: Path, old: str, new: str) -> None:
    feature = project / "features" / "calculator.feature"
    text = feature.read_text(encoding="utf-8")
    assert old in text
    feature.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The fixture with one outline row broken, after a first run with four failing scenarios.

    The flaky scenario passes on its retry, so three tests stay failed: the outline row, the
    wrong expectation and the undefined step.
    """
    project = Path(shutil.copytree(FIXTURE, tmp_path / "project"))
    (project / "qaagent.yaml").write_text(PROFILE.format(marker=tmp_path / "marker"))
    edit_feature(project, "| 4     | 8      |", "| 4     | 9      |")
    first = qaagent(project, "run-all")
    assert first.returncode == 1, first.stdout + first.stderr
    manifest = latest(project).manifest
    assert manifest.tasks[0].counts == Counts(passed=3, failed=2, errors=1, skipped=1, flaky=1)
    return project


def test_last_failed_runs_only_the_failed_scenarios_and_retries_from_the_rerun_file(
    project: Path,
) -> None:
    edit_feature(project, "| 4     | 9      |", "| 4     | 8      |")
    edit_feature(project, "\n  Scenario", "\n  # moved down since the first run\n\n  Scenario")

    rerun = qaagent(project, "run-all", "--last-failed")

    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    bundle = latest(project)
    [task] = bundle.manifest.tasks
    assert task.name == "behave"
    assert task.counts == Counts(passed=1, failed=1, errors=1)
    by_attempt: dict[int, list[str]] = {}
    for record in bundle.records:
        by_attempt.setdefault(record.attempt, []).append(record.test_id)
    assert by_attempt == {1: [OUTLINE_ROW, WRONG, UNDEFINED], 2: [WRONG, UNDEFINED]}


def test_last_failed_runs_the_whole_suite_when_a_failed_scenario_was_renamed(
    project: Path,
) -> None:
    edit_feature(project, "A wrong expectation fails", "A wrong expectation, renamed")

    rerun = qaagent(project, "run-all", "--last-failed")

    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    bundle = latest(project)
    [task] = bundle.manifest.tasks
    assert task.counts.total == 8
    assert task.log is not None
    log = (bundle.run_dir / task.log).read_text(encoding="utf-8")
    assert f"not found in the features as they are now ({WRONG}); running the whole suite" in log
