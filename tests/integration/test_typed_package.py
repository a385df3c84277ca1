"""A project that type-checks its use of qaagent gets qaagent's own types, not `Any`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_mypy_checks_a_project_against_qaagents_annotations(tmp_path: Path) -> None:
    user = tmp_path / "use_qaagent.py"
    user.write_text(
        'from qaagent.naming import folder_name\n\ncount: int = folder_name("unit")\n',
        encoding="utf-8",
    )
    mypy = Path(sys.executable).with_name("mypy")

    checked = subprocess.run(
        [str(mypy), "--strict", "--cache-dir", str(tmp_path / "cache"), str(user)],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert "py.typed" not in checked.stdout, checked.stdout
    assert 'expression has type "str", variable has type "int"' in checked.stdout, checked.stdout
    assert checked.returncode == 1
