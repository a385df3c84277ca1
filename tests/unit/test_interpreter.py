"""Which Python runs a suite: the profile's choice, else the project's environment, else python3."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qaagent.config.interpreter import resolve_interpreter
from qaagent.config.loader import load_profile
from qaagent.errors import ConfigError
from qaagent.model.outcomes import TaskOutcome
from qaagent.model.task import Interpreter, Task
from qaagent.tools.base import RunContext, ToolUnavailable
from qaagent.tools.python_tools import interpreter_problem, is_this_interpreter, require_modules
from qaagent.tools.registry import runner_for


def fake_python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


@pytest.fixture
def path_dir(tmp_path: Path) -> Path:
    """A PATH folder holding a python3 and a python3.12."""
    fake_python(tmp_path / "bin" / "python3")
    fake_python(tmp_path / "bin" / "python3.12")
    return tmp_path / "bin"


def test_the_active_virtual_environment_comes_first(root: Path, path_dir: Path) -> None:
    fake_python(root / ".venv" / "bin" / "python")
    environ = {"VIRTUAL_ENV": "/opt/active", "PATH": str(path_dir)}

    chosen = resolve_interpreter(None, "run.python", root, environ)

    assert chosen.path == Path("/opt/active/bin/python")
    assert "VIRTUAL_ENV" in chosen.origin


def test_a_dot_venv_next_to_the_profile_comes_before_venv(root: Path, path_dir: Path) -> None:
    fake_python(root / ".venv" / "bin" / "python")
    fake_python(root / "venv" / "bin" / "python")

    chosen = resolve_interpreter(None, "run.python", root, {"PATH": str(path_dir)})

    assert chosen == Interpreter(
        path=root / ".venv" / "bin" / "python", origin=".venv next to the profile"
    )


def test_a_venv_next_to_the_profile_comes_before_python3(root: Path, path_dir: Path) -> None:
    fake_python(root / "venv" / "bin" / "python")

    chosen = resolve_interpreter(None, "run.python", root, {"PATH": str(path_dir)})

    assert chosen == Interpreter(
        path=root / "venv" / "bin" / "python", origin="venv next to the profile"
    )


def test_without_a_virtual_environment_python3_on_path_runs(root: Path, path_dir: Path) -> None:
    chosen = resolve_interpreter(None, "run.python", root, {"PATH": str(path_dir)})

    assert chosen.path == path_dir / "python3"
    assert chosen.origin == "no virtual environment found, so python3 on PATH"


def test_a_path_setting_is_relative_to_the_profile_and_beats_the_environment(
    root: Path, path_dir: Path
) -> None:
    fake_python(root / ".venv" / "bin" / "python")
    environ = {"VIRTUAL_ENV": "/opt/active", "PATH": str(path_dir)}

    chosen = resolve_interpreter("envs/py/bin/python", "tests.unit.python", root, environ)

    assert chosen == Interpreter(path=root / "envs/py/bin/python", origin="tests.unit.python")


def test_a_command_name_setting_is_looked_up_on_path(root: Path, path_dir: Path) -> None:
    chosen = resolve_interpreter("python3.12", "run.python", root, {"PATH": str(path_dir)})

    assert chosen == Interpreter(
        path=path_dir / "python3.12", origin="run.python: python3.12 on PATH"
    )


def test_a_command_name_not_on_path_is_kept_as_written(root: Path, path_dir: Path) -> None:
    chosen = resolve_interpreter("python2", "run.python", root, {"PATH": str(path_dir)})

    assert chosen == Interpreter(
        path=Path("python2"), origin="run.python: python2 not found on PATH"
    )


def test_a_suites_python_beats_run_python_and_command_suites_get_none(root: Path) -> None:
    (root / "qaagent.yaml").write_text(
        "suites:\n"
        "  api: {kind: pytest, python: envs/api/bin/python}\n"
        "  other: {kind: behave}\n"
        "  lint: {kind: command, command: ruff}\n"
        "  custom: {kind: pytest, command: [coverage, run, -m, pytest]}\n"
        "run: {python: envs/main/bin/python}\n",
        encoding="utf-8",
    )

    suites = {suite.name: suite.python for suite in load_profile(root / "qaagent.yaml").suites}

    assert suites == {
        "api": Interpreter(path=root / "envs/api/bin/python", origin="suites.api.python"),
        "other": Interpreter(path=root / "envs/main/bin/python", origin="run.python"),
        "lint": None,
        "custom": None,
    }


@pytest.mark.parametrize(
    ("suite", "problem"),
    [
        ("{kind: command, command: ruff, python: python3}", "not command"),
        ("{kind: pytest, command: [pytest], python: python3}", "no effect beside command"),
    ],
)
def test_a_python_that_would_be_ignored_is_a_profile_error(
    root: Path, suite: str, problem: str
) -> None:
    (root / "qaagent.yaml").write_text(f"suites:\n  s: {suite}\n", encoding="utf-8")

    with pytest.raises(ConfigError, match=rf"suites\.s\.python: .*{problem}.*line 2"):
        load_profile(root / "qaagent.yaml")


def test_the_problem_names_the_missing_package_and_the_command_that_installs_it() -> None:
    problem = interpreter_problem(
        sys.executable, "/x/bin/python (here)", ("pytest", "pytest_playwright_nowhere"), {}
    )

    assert problem == (
        "pytest_playwright_nowhere is not installed for the Python interpreter /x/bin/python "
        f"(here); install with `{sys.executable} -m pip install pytest_playwright_nowhere`, or "
        "name another interpreter with `python:` in the profile"
    )


def test_an_interpreter_that_has_every_module_has_no_problem() -> None:
    assert interpreter_problem(sys.executable, "it", ("pytest", "json"), {}) is None


def test_a_missing_tool_raises_tool_unavailable_with_the_command(tmp_path: Path) -> None:
    gone = Interpreter(path=tmp_path / "gone" / "python", origin="run.python")
    task = Task(name="unit", suite="unit", kind="pytest", cwd=tmp_path, python=gone)

    with pytest.raises(ToolUnavailable, match=r"gone/python \(run\.python\) cannot be run") as info:
        require_modules(task, ("pytest",), {})

    assert info.value.command == [str(gone.path), "-m", "pytest"]


def test_a_task_whose_tool_cannot_start_is_one_error_attempt_without_retries(
    tmp_path: Path,
) -> None:
    gone = Interpreter(path=tmp_path / "gone" / "python", origin="run.python")
    task = Task(name="unit", suite="unit", kind="pytest", cwd=tmp_path, python=gone, retry_count=2)

    result = runner_for("pytest").run(task, RunContext(output_dir=tmp_path / "out"))

    assert result.outcome is TaskOutcome.error
    assert len(result.attempts) == 1
    assert result.error is not None and "cannot be run" in result.error
    assert result.log_path is not None and result.error in result.log_path.read_text()


def test_qaagents_own_interpreter_is_recognised_by_its_folder_not_its_link_target(
    tmp_path: Path,
) -> None:
    own = Path(sys.executable)
    assert is_this_interpreter(str(own))
    assert is_this_interpreter(str(own.parent / "python3"))
    other_venv = tmp_path / "venv" / "bin" / "python"
    other_venv.parent.mkdir(parents=True)
    other_venv.symlink_to(own.resolve())
    assert not is_this_interpreter(str(other_venv))


def test_another_interpreter_is_asked_in_a_process_of_its_own(tmp_path: Path) -> None:
    other = tmp_path / "bin" / "python"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\necho pytest\n")
    other.chmod(0o755)

    problem = interpreter_problem(str(other), "the other", ("pytest",), {})

    assert problem is not None and problem.startswith("pytest is not installed for")
