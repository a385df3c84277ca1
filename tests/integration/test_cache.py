"""Cached results: a suite whose inputs are unchanged since a passing run is served from that run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from qaagent_process import environment, qaagent

from qaagent.evidence.models import Manifest, TaskEntry
from qaagent.evidence.stored import load_run, resolve_run
from qaagent.model.outcomes import Counts, TaskOutcome

TESTS = "def test_one():\n    assert True\n\n\ndef test_two():\n    assert 1 + 1 == 2\n"
PROFILE = "run: {cache: true}\nsuites:\n  checks: {kind: pytest, path: tests%s}\n"


def project_with(tmp_path: Path, profile: str = PROFILE % "", tests: str = TESTS) -> Path:
    """A pytest project with two tests and caching on."""
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_a.py").write_text(tests, encoding="utf-8")
    (project / "qaagent.yaml").write_text(profile, encoding="utf-8")
    return project


def run_all(project: Path, *args: str, env: dict[str, str] | None = None) -> Manifest:
    """One run-all that ends as it should for its tests, and the manifest it wrote."""
    result = qaagent("run-all", "--report", "all", *args, cwd=project, env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return load_run(resolve_run(project / ".qaagent" / "runs", "latest")).manifest


def only_task(manifest: Manifest) -> TaskEntry:
    (task,) = manifest.tasks
    return task


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


def test_a_second_run_is_cached_with_the_same_counts_and_a_link_to_the_first(
    tmp_path: Path,
) -> None:
    project = project_with(tmp_path)
    git(project, "init", "-q")
    git(project, "add", ".")
    first = run_all(project)
    events = tmp_path / "events.jsonl"
    result = qaagent("run-all", "--events", f"jsonl={events}", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    second = load_run(resolve_run(project / ".qaagent" / "runs", "latest")).manifest
    task = only_task(second)
    assert only_task(first).outcome is TaskOutcome.passed
    assert task.outcome is TaskOutcome.cached
    assert task.cached_from == first.run_id
    assert task.counts == only_task(first).counts == Counts(passed=2)
    assert task.cache_key == only_task(first).cache_key
    assert second.exit_code == 0
    assert f"from {first.run_id}" in result.stdout
    run_dir = project / ".qaagent" / "runs" / second.run_id
    summary = json.loads((run_dir / "reports" / "summary.json").read_text())
    assert summary["tasks"][0]["cached_from"] == first.run_id
    junit = (run_dir / "reports" / "junit.xml").read_text()
    assert f'name="qaagent.cached_from" value="{first.run_id}"' in junit
    assert junit.count("<testcase") == 2
    assert (
        f"../../{first.run_id}/reports/report.html" in (run_dir / "reports/report.html").read_text()
    )
    finished = [
        line
        for line in map(json.loads, events.read_text().splitlines())
        if line["kind"] == "task-finished"
    ]
    assert [(item["outcome"], item["cached_from"]) for item in finished] == [
        ("cached", first.run_id)
    ]


def test_a_changed_or_new_file_runs_the_suite_again(tmp_path: Path) -> None:
    project = project_with(tmp_path)
    git(project, "init", "-q")
    git(project, "add", ".")
    first = run_all(project)
    (project / "tests" / "test_a.py").write_text(TESTS + "\n# changed\n", encoding="utf-8")
    changed = only_task(run_all(project))
    assert changed.outcome is TaskOutcome.passed
    assert changed.cache_inputs["files"] != only_task(first).cache_inputs["files"]
    (project / "notes.txt").write_text("untracked, not ignored\n", encoding="utf-8")
    assert only_task(run_all(project)).outcome is TaskOutcome.passed
    assert only_task(run_all(project)).outcome is TaskOutcome.cached


def test_a_changed_environment_value_runs_the_suite_again(tmp_path: Path) -> None:
    profile = PROFILE % ", inputs: ['tests/*.py'], env: {MODE: fast}"
    project = project_with(tmp_path, profile)
    first = only_task(run_all(project))
    (project / "qaagent.yaml").write_text(profile.replace("fast", "slow"), encoding="utf-8")
    again = only_task(run_all(project))
    assert again.outcome is TaskOutcome.passed
    assert again.cache_inputs["env"] != first.cache_inputs["env"]
    assert again.cache_inputs["files"] == first.cache_inputs["files"]


def test_a_changed_tool_version_runs_the_suite_again(tmp_path: Path) -> None:
    profile = PROFILE % ", inputs: ['tests/*.py'], python: ./python"
    project = project_with(tmp_path, profile)
    wrapper = project / "python"
    wrapper.write_text(
        '#!/bin/sh\nPYTHONPATH="$(dirname "$0")/meta${PYTHONPATH:+:$PYTHONPATH}" '
        f'exec {sys.executable} "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    first = only_task(run_all(project))
    assert only_task(run_all(project)).outcome is TaskOutcome.cached
    metadata = project / "meta" / "pytest-99.0.dist-info"
    metadata.mkdir(parents=True)
    (metadata / "METADATA").write_text("Metadata-Version: 2.1\nName: pytest\nVersion: 99.0\n")
    upgraded = only_task(run_all(project))
    assert upgraded.outcome is TaskOutcome.passed
    assert "pytest 99.0" in upgraded.cache_inputs["tools"]
    assert "pytest 99.0" not in first.cache_inputs["tools"]


def test_a_failing_run_is_never_cached(tmp_path: Path) -> None:
    project = project_with(tmp_path, tests=TESTS + "\n\ndef test_three():\n    assert False\n")
    first = only_task(run_all(project))
    second = only_task(run_all(project))
    assert (first.outcome, second.outcome) == (TaskOutcome.failed, TaskOutcome.failed)
    assert second.cached_from is None
    assert not list((project / ".qaagent" / "runs" / "cache").glob("*.json"))


def test_no_cache_runs_the_suite_and_stores_its_pass_and_the_manifest_shows_the_keys_inputs(
    tmp_path: Path,
) -> None:
    project = project_with(tmp_path)
    first = only_task(run_all(project))
    assert set(first.cache_inputs) == {"files", "command", "env", "tools"}
    assert first.cache_inputs["files"].startswith("2 files, sha256 ")
    assert "pytest" in first.cache_inputs["tools"]
    assert only_task(run_all(project, "--no-cache")).outcome is TaskOutcome.passed
    env = {**environment(), "QAAGENT_NO_CACHE": "1"}
    forced = run_all(project, env=env)
    assert only_task(forced).outcome is TaskOutcome.passed
    assert only_task(forced).cache_key == first.cache_key
    assert only_task(run_all(project)).cached_from == forced.run_id


def test_a_pruned_run_no_longer_stands_for_the_suite(tmp_path: Path) -> None:
    project = project_with(tmp_path)
    run_all(project)
    pruned = qaagent("runs", "prune", "--keep", "0", cwd=project)
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert not list((project / ".qaagent" / "runs" / "cache").glob("*.json"))
    assert only_task(run_all(project)).outcome is TaskOutcome.passed
