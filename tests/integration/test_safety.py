"""What qaagent prints and writes is safe: any console encoding, no secret, no terminal escape."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest
from qaagent_process import environment
from test_run_all import FIXTURE, RUN_TIMEOUT, checked_manifest, command, processes_in, run_dirs

from qaagent.model.run import RunStatus

TOKEN = "tok-&-9f8e7d6c5b4a"
PASSWORD = "hunter2-correct-horse"
HOOK = "https://hooks.example/T0/B1/xyz"
OUTER = "outer-service-key-77"
LEAKY = f"""\
project: {{name: leaky}}
secrets: [DEPLOY_HOOK]
suites:
  login:
    kind: command
    command: [python, tools/leak.py, "$API_TOKEN", "$MY_SERVICE_KEY"]
    env: {{API_TOKEN: "{TOKEN}", DB_PASSWORD: "{PASSWORD}", DEPLOY_HOOK: "{HOOK}"}}
"""
SGR = re.compile(r"\x1b\[[0-9;:]*m")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """The run-all fixture project with a leaky suite; fails the test if a process survives."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    (root / "leaky.yaml").write_text(LEAKY, encoding="utf-8")
    yield root
    survivors = processes_in(root)
    for process in survivors:
        process.kill()
    assert not survivors, f"processes left behind: {[p.cmdline() for p in survivors]}"


def run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        cwd=project,
        env={**environment(), **env},
        capture_output=True,
        text=True,
        errors="replace",
        timeout=RUN_TIMEOUT,
        check=False,
    )


def test_a_console_that_cannot_encode_the_output_gets_it_replaced_not_a_crash(
    project: Path,
) -> None:
    completed = run(project, "--suite", "checks", PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    assert "?? checks: failed ??" in completed.stdout
    (run_dir,) = run_dirs(project)
    assert checked_manifest(run_dir).status is RunStatus.failed


def test_no_secret_value_reaches_any_file_or_output(project: Path) -> None:
    completed = run(project, "--config", "leaky.yaml", "--suite", "login", MY_SERVICE_KEY=OUTER)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    assert manifest.tasks[0].outcome == "failed"
    files = [path for path in (project / ".qaagent").rglob("*") if path.is_file()]
    assert {"output.log", "junit.xml", "manifest.json", "tests.jsonl", "report.html"} <= {
        path.name for path in files
    }
    for value in (TOKEN, PASSWORD, HOOK, OUTER):
        for form in {value, escape(value), escape(value, quote=False)}:
            assert form not in completed.stdout + completed.stderr
            for path in files:
                assert form.encode() not in path.read_bytes(), (form, path)
    log = (run_dir / "artifacts" / "login" / "output.log").read_text(encoding="utf-8")
    assert "Authorization: Bearer ***" in log
    assert "split *** across writes" in log
    assert "tools/leak.py '***' ***" in log
    assert "Authorization: Bearer *** was refused; hook ***" in (
        run_dir / "evidence" / "tests.jsonl"
    ).read_text(encoding="utf-8")


def test_terminal_escapes_from_test_output_are_not_echoed_but_stay_in_the_log(
    project: Path,
) -> None:
    profile = LEAKY.replace("secrets: [DEPLOY_HOOK]\n", "")
    (project / "escapes.yaml").write_text(profile, encoding="utf-8")
    completed = run(project, "--config", "escapes.yaml", "--suite", "login")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "clipboard: [] red" in completed.stdout
    assert "hyperlink: [click] red" in completed.stdout
    assert "\x1b" not in SGR.sub("", completed.stdout + completed.stderr)
    (run_dir,) = run_dirs(project)
    log = (run_dir / "artifacts" / "login" / "output.log").read_text(encoding="utf-8")
    assert "\x1b]52;c;ZWNobyBwd25lZA==\x07" in log
    assert "\x1b[6n" in log
