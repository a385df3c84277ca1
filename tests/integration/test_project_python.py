"""Suites run in the project's own Python, which qaagent (in its own venv) cannot import from."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from qaagent_process import environment
from qaagent_process import qaagent as run_qaagent
from test_run_all import checked_manifest, processes_in, records, run_dirs

from qaagent.tools.pytest_tool import PLUGIN, PLUGIN_DIR

PROFILE = "project: {name: own-venv}\ntests:\n  unit: {path: tests}\n"
TEST_USING_MYLIB = "import mylib\n\n\ndef test_answer():\n    assert mylib.ANSWER == 42\n"
NODE_ID = "tests/test_mylib.py::test_answer"


def make_venv(folder: Path, *packages: str) -> Path:
    """A plain venv (none of qaagent's packages), with `packages` installed by this pip."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    if packages:
        installed = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
             "--disable-pip-version-check", *packages],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )  # fmt: skip
        if installed.returncode != 0:
            pytest.skip(f"cannot install {packages} into a fresh venv: {installed.stderr[-500:]}")
    return folder


def site_packages(venv: Path) -> Path:
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", query], capture_output=True, text=True, check=True
    )
    return Path(found.stdout.strip())


@pytest.fixture(scope="session")
def venv_with_pytest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pytest and the project's own package `mylib`, importable only in this venv."""
    venv = make_venv(tmp_path_factory.mktemp("venvs") / "with-pytest", "pytest")
    package = site_packages(venv) / "mylib"
    package.mkdir()
    (package / "__init__.py").write_text("ANSWER = 42\n", encoding="utf-8")
    return venv


@pytest.fixture(scope="session")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venvs") / "bare")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project whose tests import `mylib`; fails the test if any of its processes survive."""
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_mylib.py").write_text(TEST_USING_MYLIB, encoding="utf-8")
    (root / "qaagent.yaml").write_text(PROFILE, encoding="utf-8")
    yield root
    survivors = processes_in(root)
    for process in survivors:
        process.kill()
    assert not survivors, f"processes left behind: {[p.cmdline() for p in survivors]}"


def qaagent(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """qaagent from its own venv, as a pipx install runs it: no virtual environment active."""
    outside = environment(drop=("CI", "VIRTUAL_ENV"))
    return run_qaagent(*args, cwd=project, env=outside, timeout=120)


def test_a_suite_runs_with_the_venv_next_to_the_profile(
    project: Path, venv_with_pytest: Path
) -> None:
    (project / ".venv").symlink_to(venv_with_pytest, target_is_directory=True)

    result = qaagent(project, "run-all")

    assert result.returncode == 0, result.stdout + result.stderr
    [run_dir] = run_dirs(project)
    assert checked_manifest(run_dir).tasks[0].outcome == "passed"
    [record] = records(run_dir)
    assert (record.test_id, record.status) == (NODE_ID, "passed")
    log = (run_dir / "artifacts" / "unit" / "output.log").read_text(encoding="utf-8")
    assert f"{project}/.venv/bin/python -m pytest" in log


def test_validate_names_each_suites_interpreter_and_why(
    project: Path, venv_with_pytest: Path
) -> None:
    (project / ".venv").symlink_to(venv_with_pytest, target_is_directory=True)

    result = qaagent(project, "validate")

    assert result.returncode == 0, result.stderr
    assert f"unit: python {project}/.venv/bin/python (.venv next to the profile)" in result.stdout


def test_a_venv_without_pytest_is_an_infrastructure_error_naming_the_install(
    project: Path, bare_venv: Path
) -> None:
    (project / "venv").symlink_to(bare_venv, target_is_directory=True)

    result = qaagent(project, "run-all", "--retries", "2")

    assert result.returncode == 3, result.stdout + result.stderr
    python = f"{project}/venv/bin/python"
    expected = (
        f"pytest is not installed for the Python interpreter {python} (venv next to the "
        f"profile); install with `{python} -m pip install pytest`"
    )
    assert expected in result.stdout
    [run_dir] = run_dirs(project)
    [task] = checked_manifest(run_dir).tasks
    assert task.outcome == "error"
    assert task.error is not None and expected in task.error
    assert "usage error" not in result.stdout
    assert len(task.attempts) == 1


def test_a_missing_interpreter_is_an_infrastructure_error_naming_it(project: Path) -> None:
    (project / "qaagent.yaml").write_text(
        "tests:\n  unit: {path: tests, python: envs/gone/bin/python}\n", encoding="utf-8"
    )

    result = qaagent(project, "run-all")

    assert result.returncode == 3, result.stdout + result.stderr
    assert (
        f"the Python interpreter {project}/envs/gone/bin/python (tests.unit.python) cannot be "
        "run (No such file or directory)"
    ) in result.stdout


def test_qaagents_pytest_plugins_load_into_an_interpreter_without_its_dependencies(
    project: Path, venv_with_pytest: Path
) -> None:
    python = str(venv_with_pytest / "bin" / "python")
    without_pydantic = subprocess.run(
        [python, "-c", "import pydantic"], stderr=subprocess.DEVNULL, check=False
    )
    assert without_pydantic.returncode != 0
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_DIR)}

    collected = subprocess.run(
        [python, "-m", "pytest", "-p", PLUGIN, "-p", "qaagent_chromium", "--collect-only", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert NODE_ID in collected.stdout


def test_a_profile_without_a_tests_section_runs_only_its_own_suites(project: Path) -> None:
    (project / "tests" / "test_mylib.py").write_text(
        "def test_fails():\n    assert False\n", encoding="utf-8"
    )
    (project / "qaagent.yaml").write_text(
        "suites:\n  lint: {kind: command, command: [python, -c, 'print(1)']}\n",
        encoding="utf-8",
    )

    result = qaagent(project, "run-all")

    assert result.returncode == 0, result.stdout + result.stderr
    [run_dir] = run_dirs(project)
    assert [task.name for task in checked_manifest(run_dir).tasks] == ["lint"]
