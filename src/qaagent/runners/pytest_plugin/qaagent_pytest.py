"""Loaded into pytest with `-p`: records each test's node id, file and line as JUnit properties,
and, when asked, runs only the listed node ids.

Properties go through `user_properties`, so this works beside any conftest of the project. The
node ids to run are read from the file named by QAAGENT_PYTEST_SELECT and matched exactly, which
spares node ids with spaces or brackets any quoting and does not depend on the folder pytest
resolves command-line paths from.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SELECT_VARIABLE = "QAAGENT_PYTEST_SELECT"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only the selected tests, then label every remaining one."""
    selection = os.environ.get(SELECT_VARIABLE)
    if selection:
        wanted = set(Path(selection).read_text(encoding="utf-8").splitlines())
        deselected = [item for item in items if item.nodeid not in wanted]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item.nodeid in wanted]
    for item in items:
        path, line, _ = item.location
        item.user_properties.append(("nodeid", item.nodeid))
        item.user_properties.append(("file", path))
        if line is not None:
            item.user_properties.append(("line", str(line + 1)))
