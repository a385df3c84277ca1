"""Browser set-up for the end-to-end tests.

The shop's address comes from `--base-url` or BASE_URL (default http://127.0.0.1:8765).
A system Chromium named by QAAGENT_CHROMIUM or CHROMIUM is used instead of Playwright's own
browser download, with the flags it needs to run headless in a container.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

DEFAULT_BASE_URL = "http://127.0.0.1:8765"
SYSTEM_CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)


@pytest.fixture(scope="session")
def base_url(pytestconfig: pytest.Config) -> str:
    """`--base-url` when given, else BASE_URL, else the shop's default address."""
    return pytestconfig.getoption("base_url") or os.environ.get("BASE_URL", DEFAULT_BASE_URL)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system Chromium when one is named; otherwise keep pytest-playwright's choice."""
    executable = os.environ.get("QAAGENT_CHROMIUM") or os.environ.get("CHROMIUM")
    if not executable or "executable_path" in browser_type_launch_args:
        return browser_type_launch_args
    args = list(browser_type_launch_args.get("args", []))
    args += [flag for flag in SYSTEM_CHROMIUM_ARGS if flag not in args]
    return {**browser_type_launch_args, "executable_path": executable, "args": args}
