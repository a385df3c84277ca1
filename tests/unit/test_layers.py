"""The import contracts of pyproject.toml hold, the model's and the processes' among them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")

    checked = subprocess.run(
        [str(lint_imports), "--no-cache"],
        check=False,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "The model imports no other qaagent package but the errors KEPT" in checked.stdout
    assert "Processes are started and ended without the profile" in checked.stdout
    assert "0 broken" in checked.stdout
