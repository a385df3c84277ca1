"""The live board and the CI lines of a real `qaagent run-all` on a pytest project of slow tests."""

from __future__ import annotations

from pathlib import Path

from qaagent_process import environment, qaagent

PROFILE = "tests: {unit: {path: tests}, behave: {enabled: false}, e2e: {enabled: false}}\n"
SLOW_TESTS = """\
import time


def test_first():
    time.sleep(0.3)


def test_second():
    time.sleep(0.3)


def test_third():
    time.sleep(0.3)
    assert 1 == 2
"""


def slow_project(root: Path) -> Path:
    """A profile with one pytest suite of three slow tests, one of them failing."""
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_slow.py").write_text(SLOW_TESTS, encoding="utf-8")
    (root / "qaagent.yaml").write_text(PROFILE, encoding="utf-8")
    return root


def test_the_board_on_a_terminal_shows_tests_passed_failed_and_total_and_the_eta(
    tmp_path: Path,
) -> None:
    project = slow_project(tmp_path / "project")
    first = qaagent("run-all", cwd=project)
    assert first.returncode == 1, first.stderr
    terminal = {**environment(), "TTY_COMPATIBLE": "1", "COLUMNS": "160", "NO_COLOR": "1"}

    shown = qaagent("run-all", cwd=project, env=terminal)

    assert shown.returncode == 1, shown.stderr
    board = shown.stdout.split("\n1 failed · ")[0]
    assert "passed/failed/total" in board
    assert "2/1/3" in board
    assert "· ETA " in shown.stdout
    assert "── unit: failed ──" in shown.stdout
    assert "start  unit" not in shown.stdout


def test_in_ci_a_failing_test_is_a_line_of_its_own_before_its_task_ends(tmp_path: Path) -> None:
    project = slow_project(tmp_path / "project")

    shown = qaagent("run-all", cwd=project, env={**environment(), "CI": "true"})

    assert shown.returncode == 1, shown.stderr
    lines = shown.stdout.splitlines()
    failing = next(n for n, line in enumerate(lines) if line.startswith("FAIL  unit: "))
    assert "tests/test_slow.py::test_third" in lines[failing]
    assert "assert 1 == 2" in lines[failing]
    ended = next(n for n, line in enumerate(lines) if line.startswith("failed unit: "))
    assert failing < ended
