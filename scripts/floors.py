#!/usr/bin/env python3
"""Print pip constraints pinning every dependency to the lowest version pyproject.toml allows.

pyproject.toml is the one list of floors; this turns `name>=X` into `name==X` so that CI can
install exactly the oldest versions a user may have and run the tests against them.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
FLOOR = re.compile(r"^\s*(?P<name>[A-Za-z0-9._-]+)\s*>=\s*(?P<version>[^,;\s]+)")


def floors(pyproject: Path) -> list[str]:
    """`name==version` for each runtime dependency; one without a floor is an error."""
    document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    pins = []
    for requirement in document["project"]["dependencies"]:
        found = FLOOR.match(requirement)
        if found is None:
            raise SystemExit(f"{pyproject}: dependency {requirement!r} has no `>=` floor")
        pins.append(f"{found['name']}=={found['version']}")
    return pins


if __name__ == "__main__":
    sys.stdout.write("".join(f"{pin}\n" for pin in floors(PYPROJECT)))
