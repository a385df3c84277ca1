"""The import contracts of pyproject.toml hold, those of the model, processes, tools, reports, engine and session among them."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "qaagent"
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")

    checked = subprocess.run(
        [str(lint_imports), "--no-cache"],
        check=False,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
    )
    report = COLOUR.sub("", checked.stdout)

    assert checked.returncode == 0, report + checked.stderr
    assert "The model imports no other qaagent package but the errors KEPT" in report
    assert "The errors, task names, secret masking, run options and colour choice" in report
    assert "The plan is made from the profile, the tools and the evidence" in report
    assert "Processes are started and ended without the profile" in report
    assert "The tools run without the profile, the plan, the engine" in report
    assert "The evidence is written without the tools or the engine KEPT" in report
    assert "The engine runs the tasks without the commands or the evidence KEPT" in report
    assert "The reports and the live board are drawn without the engine or the tools KEPT" in report
    assert "The session runs the pipeline without the commands KEPT" in report
    assert "Only the commands and the CLI import the session KEPT" in report
    assert "Each floor imports only the floors below it KEPT" in report
    assert "0 broken" in report


def imported_modules(source: Path) -> set[str]:
    """Every module a source file imports, by its full name."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def test_only_the_processes_package_starts_a_process_with_subprocess() -> None:
    starters = {
        str(source.relative_to(PACKAGE))
        for source in PACKAGE.rglob("*.py")
        if "subprocess" in imported_modules(source)
    }

    assert starters and all(starter.startswith("processes/") for starter in starters), starters
