"""`qaagent list`: the tests each selected suite would run, as the tools themselves list them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_reports_run_all import qaagent

FIXTURES = Path(__file__).parents[1] / "fixtures"
NODE_MODULES = FIXTURES / "playwright_node_project" / "node_modules"


def copied(fixture: str, tmp_path: Path, profile: str) -> Path:
    project = Path(
        shutil.copytree(
            FIXTURES / fixture, tmp_path / "project", ignore=shutil.ignore_patterns("node_modules")
        )
    )
    (project / "qaagent.yaml").write_text(profile, encoding="utf-8")
    return project


def collected_by_pytest(project: Path, *args: str) -> list[str]:
    """The node ids `pytest --collect-only -q` prints."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--collect-only", "-q"],
        cwd=project,
        env={**os.environ, "PYTEST_ADDOPTS": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return [line for line in completed.stdout.splitlines() if "::" in line]


def listed(stdout: str, header: str) -> list[str]:
    """The indented lines under one task's header."""
    lines = stdout.splitlines()
    start = lines.index(header) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        block.append(line.removeprefix("  "))
    return block


def test_list_prints_the_node_ids_pytest_collects(tmp_path: Path) -> None:
    project = copied("pytest_project", tmp_path, "tests: {unit: {path: tests}}\n")
    expected = collected_by_pytest(project, "tests")
    result = qaagent(project, "list")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"unit (pytest): {len(expected)} tests" in result.stdout
    assert listed(result.stdout, f"unit (pytest): {len(expected)} tests") == expected
    assert not (project / ".qaagent").exists()


def test_list_after_the_double_dash_narrows_like_the_run(tmp_path: Path) -> None:
    project = copied("pytest_project", tmp_path, "tests: {unit: {path: tests}}\n")
    result = qaagent(project, "list", "--json", "--", "-k", "nested")
    assert result.returncode == 0, result.stdout + result.stderr
    (task,) = json.loads(result.stdout)["tasks"]
    assert task["tests"] == collected_by_pytest(project, "tests", "-k", "nested")
    assert task["count"] == 3


def test_list_shows_behave_scenarios_and_says_a_command_suite_cannot_be_listed(
    tmp_path: Path,
) -> None:
    project = copied(
        "behave_project",
        tmp_path,
        "tests: {behave: {path: features}}\n"
        "suites: {lint: {kind: command, command: [python, -c, pass]}}\n",
    )
    result = qaagent(project, "list")
    assert result.returncode == 0, result.stdout + result.stderr
    scenarios = listed(result.stdout, "behave (behave): 8 tests")
    assert scenarios[0] == "features/calculator.feature:3: Adding two numbers"
    assert "features/calculator.feature:16: Doubling 4 -- @1.2" in scenarios
    assert "lint (command): cannot list (command suite)" in result.stdout
    narrowed = qaagent(project, "list", "--suite", "behave", "--", "--name", "Doubling")
    assert "behave (behave): 3 tests" in narrowed.stdout


def test_list_of_pytest_playwright_tests_needs_no_browser(tmp_path: Path) -> None:
    project = copied("playwright_python_project", tmp_path, "tests: {e2e: {path: .}}\n")
    result = qaagent(project, "list")
    assert result.returncode == 0, result.stdout + result.stderr
    expected = collected_by_pytest(project)
    assert listed(result.stdout, f"e2e (playwright-python): {len(expected)} tests") == expected


@pytest.mark.skipif(not NODE_MODULES.is_dir(), reason="npm ci has not run in the Node fixture")
def test_list_of_a_playwright_test_project(tmp_path: Path) -> None:
    project = copied("playwright_node_project", tmp_path, "tests: {e2e: {path: .}}\n")
    (project / "node_modules").symlink_to(NODE_MODULES)
    result = qaagent(project, "list", "--suite", "e2e")
    assert result.returncode == 0, result.stdout + result.stderr
    tests = listed(result.stdout, "e2e (playwright-node): 5 tests")
    assert "shop.spec.ts:5:3 \u203a fixture shop \u203a has its title" in tests


def test_a_suite_that_cannot_be_listed_says_why_and_exits_3(tmp_path: Path) -> None:
    project = copied(
        "pytest_project",
        tmp_path,
        "tests: {unit: {path: tests}}\nsuites: {more: {kind: pytest, path: flaky}}\n",
    )
    result = qaagent(project, "list", "--suite", "unit", "--", "--no-such-option")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "unit (pytest): cannot list: pytest --collect-only exited 4: " in result.stdout
    assert "unrecognized arguments: --no-such-option" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    unknown = qaagent(project, "list", "--bogus")
    assert unknown.returncode == 2
