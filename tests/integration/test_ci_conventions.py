"""What CI systems and shells expect of qaagent, checked on real runs of the fixture project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from qaagent_process import environment, qaagent
from test_run_all import project, run_all

__all__ = ["project"]


def test_the_state_folder_is_ignored_by_git_and_a_users_gitignore_is_kept(project: Path) -> None:
    result = run_all(project, "--suite", "lint")
    assert result.returncode == 0, result.stderr
    assert (project / ".qaagent" / ".gitignore").read_text(encoding="utf-8").endswith("\n*\n")
    (project / ".qaagent" / ".gitignore").write_text("runs/\n", encoding="utf-8")
    assert run_all(project, "--suite", "lint").returncode == 0
    assert (project / ".qaagent" / ".gitignore").read_text(encoding="utf-8") == "runs/\n"
    git = subprocess.run(
        ["git", "init", "-q", str(project)], capture_output=True, text=True, check=False
    )
    if git.returncode == 0:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        )
        assert ".qaagent/runs/" not in status.stdout


def test_a_runs_folder_of_its_own_is_ignored_by_git(project: Path) -> None:
    env = {**environment(), "QAAGENT_RUNS_DIR": str(project / "build" / "evidence")}
    result = subprocess.run(
        [sys.executable, "-m", "qaagent", "run-all", "--suite", "lint"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (project / "build" / "evidence" / ".gitignore").is_file()
    assert not (project / "build" / ".gitignore").exists()


def test_shell_completion_is_offered_and_completes_commands(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("QAAGENT_")}
    help_text = qaagent("--help", cwd=tmp_path, env=env)
    assert help_text.returncode == 0
    assert "--install-completion" in help_text.stdout
    script = qaagent(cwd=tmp_path, env={**env, "_QAAGENT_COMPLETE": "source_bash"})
    assert "_QAAGENT_COMPLETE=complete_bash" in script.stdout
    request = {
        **env,
        "_QAAGENT_COMPLETE": "complete_bash",
        "COMP_WORDS": "qaagent run-all --fail",
        "COMP_CWORD": "2",
    }
    assert qaagent(cwd=tmp_path, env=request).stdout.split() == ["--fail-fast"]


def test_each_matrix_task_has_its_own_classnames_in_the_merged_junit(project: Path) -> None:
    (project / "qaagent.yaml").write_text(
        "suites:\n  checks: {kind: pytest, path: checks, matrix: {model: [small, large]}}\n",
        encoding="utf-8",
    )
    result = run_all(project)
    assert result.returncode == 1, result.stderr
    junit = ElementTree.parse(project / ".qaagent" / "runs" / "latest" / "reports" / "junit.xml")
    names = [(case.get("classname"), case.get("name")) for case in junit.iter("testcase")]
    assert len(names) == 4
    assert len(set(names)) == 4
    assert ("checks[model=large].checks.test_checks", "test_fails") in names


MANY_FAILURES = """\
import pytest


@pytest.mark.parametrize("n", range(12))
def test_many(n):
    assert n == -1
"""


def test_inside_github_actions_annotations_groups_and_job_summary_follow_its_limits(
    project: Path, tmp_path: Path
) -> None:
    sub = project / "sub"
    (sub / "tests").mkdir(parents=True)
    (sub / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (sub / "tests" / "test_many.py").write_text(MANY_FAILURES, encoding="utf-8")
    (project / "qaagent.yaml").write_text(
        "suites:\n"
        "  many: {kind: pytest, cwd: sub, path: sub/tests}\n"
        "  checks: {kind: pytest, path: checks}\n",
        encoding="utf-8",
    )
    step_summary = tmp_path / "step_summary.md"
    env = {
        **environment(),
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(project),
        "GITHUB_STEP_SUMMARY": str(step_summary),
    }
    result = subprocess.run(
        [sys.executable, "-m", "qaagent", "run-all"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == 10
    assert errors[0].startswith("::error file=sub/tests/test_many.py,line=6,title=many%3A")
    assert errors[1].startswith("::error file=checks/test_checks.py,line=6,title=checks%3A")
    assert lines.count("::group::many: failed") == 1
    assert lines.count("::group::checks: failed") == 1
    assert lines.count("::endgroup::") == 2
    summary = step_summary.read_text(encoding="utf-8")
    assert "3 more failures have no annotation" in summary


def test_no_color_wins_over_force_color_in_every_output(project: Path) -> None:
    env = {**environment(), "NO_COLOR": "1", "FORCE_COLOR": "1"}
    run = qaagent("-v", "run-all", "--suite", "checks", cwd=project, env=env)
    assert run.returncode == 1, run.stderr
    listed = qaagent("runs", "list", cwd=project, env=env)
    shown = qaagent("runs", "show", "latest", cwd=project, env=env)
    for result in (run, listed, shown):
        assert "\x1b" not in result.stdout + result.stderr
    assert "checks" in shown.stdout


def test_force_color_colours_the_plain_progress_lines(project: Path) -> None:
    env = {key: value for key, value in environment().items() if key != "NO_COLOR"}
    result = qaagent(
        "-v", "run-all", "--suite", "checks", cwd=project, env={**env, "FORCE_COLOR": "1"}
    )
    assert result.returncode == 1, result.stderr
    assert "\x1b[31mfailed\x1b[0m checks: " in result.stdout


def test_without_a_chromium_only_the_browser_suites_are_errors_naming_it(project: Path) -> None:
    (project / "e2e").mkdir()
    (project / "e2e" / "test_page.py").write_text(
        "def test_title(page):\n    page.goto('about:blank')\n", encoding="utf-8"
    )
    (project / "qaagent.yaml").write_text(
        "suites:\n"
        "  browser: {kind: playwright-python, path: e2e}\n"
        "  lint: {kind: command, command: [python, tools/step.py, --name, lint]}\n",
        encoding="utf-8",
    )
    env = {**environment(), "QAAGENT_CHROMIUM": str(project / "no-chromium")}
    result = qaagent("run-all", cwd=project, env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    manifest = json.loads((project / ".qaagent/runs/latest/manifest.json").read_text("utf-8"))
    outcomes = {task["name"]: (task["outcome"], task["error"]) for task in manifest["tasks"]}
    assert outcomes["lint"] == ("passed", None)
    outcome, error = outcomes["browser"]
    assert outcome == "error"
    assert f"the Chromium given for browser suites, {project / 'no-chromium'}" in error
