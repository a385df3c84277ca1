"""The bundled example, run the way `make run` runs it: every suite passes and every report exists."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import psutil
import pytest

from qaagent.commands.schema_cmd import events_schema
from qaagent.evidence.models import MANIFEST_NAME, Manifest
from qaagent.model.run import RunStatus

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop"
EXPECTED_PASSED = {
    "unit": 58,
    "behave": 22,
    "e2e": 5,
    "evals[model=keyword-stub]": 8,
    "evals[model=template-stub]": 8,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of the example whose app listens on a free port."""
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qaagent", "__pycache__"))
    profile = root / "qaagent.yaml"
    profile.write_text(profile.read_text().replace("8765", str(free_port())), encoding="utf-8")
    return root


@pytest.mark.browser
def test_make_run_passes_every_suite_and_writes_every_report(shop: Path, tmp_path: Path) -> None:
    environ = {
        **os.environ,
        "CI": "true",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    events = f"jsonl={tmp_path / 'events.jsonl'}"
    completed = subprocess.run(
        [
            sys.executable,
            *("-m", "qaagent", "run-all", "--parallel", "--max-workers", "3"),
            *("--events", events),
        ],
        check=False,
        cwd=shop,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    run_dir = (shop / ".qaagent" / "runs" / "latest").resolve()
    manifest = Manifest.model_validate_json((run_dir / MANIFEST_NAME).read_bytes())
    assert manifest.status is RunStatus.passed
    assert {task.name: task.counts.passed for task in manifest.tasks} == EXPECTED_PASSED
    summary = json.loads((run_dir / "reports" / "summary.json").read_text())
    assert summary["counts"]["passed"] == sum(EXPECTED_PASSED.values())
    assert {path.name for path in (run_dir / "reports").iterdir()} >= {
        "junit.xml",
        "summary.json",
        "summary.md",
        "report.html",
    }
    assert "parallelism" in completed.stdout
    assert not processes_in(shop), "the app or a suite outlived the run"
    assert_valid_events(tmp_path / "events.jsonl", run_dir.name)


def assert_valid_events(path: Path, run_id: str) -> None:
    """The example's event stream: valid lines, numbered, planned first, run-finished last."""
    validator = jsonschema.Draft7Validator(events_schema())
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(not list(validator.iter_errors(line)) for line in lines)
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert {line["run_id"] for line in lines} == {run_id}
    assert (lines[0]["kind"], lines[-1]["kind"]) == ("planned", "run-finished")
    assert lines[-1]["exit_code"] == 0
    finished = {line["task"] for line in lines if line["kind"] == "task-finished"}
    assert finished == set(EXPECTED_PASSED)
    live = Counter(
        line["task"]
        for line in lines
        if line["kind"] == "test-finished" and line["outcome"] == "passed"
    )
    assert live == EXPECTED_PASSED, "every tool reports each of its tests live"


def processes_in(root: Path) -> list[psutil.Process]:
    """Live processes whose working folder is inside `root`."""
    found = []
    for process in psutil.process_iter():
        try:
            if Path(process.cwd()).is_relative_to(root) and process.status() != "zombie":
                found.append(process)
        except psutil.Error:
            continue
    return found
