"""CI parts of a real pytest and behave project: three `--part i/3` jobs merged equal one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qaagent_process import environment, qaagent

from qaagent.evidence.models import Manifest
from qaagent.evidence.stored import load_run, resolve_run

PROFILE = """\
project: {name: parts}
tests:
  unit: {path: tests}
  behave: {path: features}
"""
FEATURE = """\
Feature: Adding
  Scenario: One and one
    Given a number 1
    When I add 1
    Then I get 2

  Scenario: Two and two
    Given a number 2
    When I add 2
    Then I get 4
"""
STEPS = """\
from behave import given, then, when


@given("a number {value:d}")
def number(context, value):
    context.value = value


@when("I add {amount:d}")
def add(context, amount):
    context.value += amount


@then("I get {expected:d}")
def result(context, expected):
    assert context.value == expected
"""


def write_project(root: Path) -> Path:
    """12 pytest tests in 3 files (one fails, one takes half a second) and a behave feature."""
    (root / "tests").mkdir(parents=True)
    (root / "features" / "steps").mkdir(parents=True)
    for module in "abc":
        lines = ["import time\n"]
        lines += [f"\n\ndef test_{module}{index}():\n    assert True\n" for index in range(3)]
        last = {"a": "time.sleep(0.5)", "b": "assert True", "c": "assert 1 == 2"}[module]
        lines.append(f"\n\ndef test_{module}_last():\n    {last}\n")
        (root / "tests" / f"test_{module}.py").write_text("".join(lines), encoding="utf-8")
    (root / "features" / "adding.feature").write_text(FEATURE, encoding="utf-8")
    (root / "features" / "steps" / "steps.py").write_text(STEPS, encoding="utf-8")
    (root / "qaagent.yaml").write_text(PROFILE, encoding="utf-8")
    return root


def latest(project: Path) -> Path:
    return resolve_run(project / ".qaagent" / "runs", "latest")


def final_tests(run_dir: Path) -> list[tuple[str, str]]:
    return sorted((record.task, record.test_id) for record in load_run(run_dir).final_records())


def manifest_of(run_dir: Path) -> Manifest:
    return load_run(run_dir).manifest


def part_run(project: Path, *args: str, env: dict[str, str] | None = None) -> Path:
    """One CI job's run of its part; the exit code is checked by the caller through the manifest."""
    completed = qaagent("run-all", "--report", "none", *args, cwd=project, env=env)
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    return latest(project)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with a plan saved before any run, then one local run in its history."""
    root = write_project(tmp_path_factory.mktemp("parts") / "project")
    saved = qaagent("plan", "--parts", "3", "-o", "plan.json", cwd=root)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    local = qaagent("run-all", "--report", "none", cwd=root)
    assert local.returncode == 1, local.stdout + local.stderr
    (root / "local").symlink_to(latest(root))
    exported = qaagent("durations", "export", "-o", "durations.json", cwd=root)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    return root


@pytest.fixture(scope="module")
def parts(project: Path) -> list[Path]:
    """The three parts, divided by the exported durations; the second names its part in
    $QAAGENT_PART as a CI matrix may."""
    first = part_run(project, "--part", "1/3", "--durations", "durations.json")
    second = part_run(
        project, "--durations", "durations.json", env={**environment(), "QAAGENT_PART": "2/3"}
    )
    third = part_run(project, "--part", "3/3", "--durations", "durations.json")
    return [first, second, third]


def test_three_merged_parts_equal_one_local_run(project: Path, parts: list[Path]) -> None:
    merged = qaagent("merge", *map(str, parts), "-o", "merged", cwd=project)
    local = manifest_of(project / "local")
    manifest = manifest_of(project / "merged")
    assert merged.returncode == local.exit_code == 1, merged.stdout + merged.stderr
    assert manifest.counts == local.counts
    assert final_tests(project / "merged") == final_tests(project / "local")
    assert [task.name for task in manifest.tasks] == ["unit", "behave"]
    assert manifest.parts == [manifest_of(part).run_id for part in parts]
    assert (project / "merged" / "reports" / "junit.xml").is_file()
    verified = qaagent("verify", "merged", cwd=project)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_each_part_runs_its_own_tests_and_records_which_part_it_was(parts: list[Path]) -> None:
    ran = [set(final_tests(part)) for part in parts]
    assert all(ran) and not (ran[0] & ran[1] or ran[0] & ran[2] or ran[1] & ran[2])
    recorded = [manifest_of(part).part for part in parts]
    assert [(part.index, part.total) for part in recorded if part] == [(1, 3), (2, 3), (3, 3)]
    assert len({part.digest for part in recorded if part}) == 1


def test_merge_refuses_a_part_of_another_plan_naming_both(project: Path, parts: list[Path]) -> None:
    other = part_run(project, "--part", "1/2", "--durations", "durations.json")
    refused = qaagent("merge", str(parts[0]), str(other), "-o", "refused", cwd=project)
    assert refused.returncode == 2
    assert str(parts[0]) in refused.stderr and str(other) in refused.stderr
    assert "Traceback" not in refused.stderr


def test_merge_names_a_missing_part(project: Path, parts: list[Path]) -> None:
    incomplete = qaagent("merge", str(parts[0]), str(parts[2]), "-o", "incomplete", cwd=project)
    assert incomplete.returncode == 3
    assert "part 2/3" in incomplete.stderr


def test_a_saved_plan_reruns_the_same_share_after_the_history_changed(project: Path) -> None:
    saved = json.loads((project / "plan.json").read_text(encoding="utf-8"))
    now = qaagent("plan", "--parts", "3", cwd=project)
    assert now.returncode == 0, now.stderr
    assert saved["digest"] not in now.stdout
    rerun = part_run(project, "--part", "2/3", "--plan", "plan.json")
    share = saved["parts"][1]["tasks"]
    local = final_tests(project / "local")
    expected = [(task, test_id) for task, test_id in local if task in share]
    if share.get("unit") is not None:
        expected = [(task, test_id) for task, test_id in expected if task != "unit"]
        expected += [("unit", node_id) for node_id in share["unit"]]
    assert final_tests(rerun) == sorted(expected)
    part = manifest_of(rerun).part
    assert part is not None and part.digest == saved["digest"]
