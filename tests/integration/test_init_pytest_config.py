"""`qaagent init` on a project with a pytest configuration: the suite runs what `pytest` runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_reports_run_all import qaagent

from qaagent.evidence.stored import load_run, resolve_run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "pytest_config_project"
SUMMARY = re.compile(r"^=+ (?P<parts>.*\d+ (?:passed|failed).*) in [\d.]+s.* =+$", re.M)
PART = re.compile(r"(\d+) (passed|failed|errors?|skipped)")
PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["src"]
python_files = ["check_*.py"]
addopts = "--doctest-modules"
"""
SETUP_CFG = """\
[tool:pytest]
python_files = check_*.py
addopts = --doctest-modules
"""


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """The fixture with its pytest.ini replaced by the given configuration files."""
    project = Path(shutil.copytree(FIXTURE, tmp_path / "project"))
    if files:
        (project / "pytest.ini").unlink()
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    return project


def pytest_counts(project: Path) -> dict[str, int]:
    """The counts of plain `python -m pytest`'s own summary line."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    summary = SUMMARY.search(completed.stdout)
    assert summary is not None, completed.stdout
    counts = {"passed": 0, "failed": 0}
    for number, label in PART.findall(summary["parts"]):
        counts[label] = int(number)
    return counts


@pytest.mark.parametrize(
    ("files", "path"),
    [
        ({}, "src"),
        ({"pyproject.toml": PYPROJECT}, "src"),
        ({"pyproject.toml": "[project]\nname = 'calc'\n", "setup.cfg": SETUP_CFG}, "."),
    ],
    ids=["pytest.ini", "pyproject.toml", "setup.cfg-after-a-pyproject-without-pytest"],
)
def test_init_writes_a_suite_that_counts_what_plain_pytest_counts(
    tmp_path: Path, files: dict[str, str], path: str
) -> None:
    project = project_with(tmp_path, files)
    expected = pytest_counts(project)

    init = qaagent(project, "init")
    assert init.returncode == 0, init.stdout + init.stderr
    unit = yaml.safe_load((project / "qaagent.yaml").read_text(encoding="utf-8"))["tests"]["unit"]
    assert (unit["enabled"], unit["path"]) == (True, path)
    run = qaagent(project, "run-all", "--retries", "0")
    assert run.returncode == (1 if expected["failed"] else 0), run.stdout + run.stderr

    manifest = load_run(resolve_run(project / ".qaagent" / "runs", "latest")).manifest
    counts = manifest.counts
    assert {"passed": counts.passed, "failed": counts.failed} == expected
    assert counts.errors == counts.skipped == 0
    assert expected["passed"] == 3
