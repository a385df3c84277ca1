"""A pytest plugin (`-p qaagent.runners.chromium_plugin`) that makes pytest-playwright launch a given Chromium.

It reads the executable from `QAAGENT_CHROMIUM` and adds it, with flags that keep a headless
Chromium quiet and runnable in containers, to whatever `browser_type_launch_args` the project
returns, so a project's own fixture override keeps working.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

CHROMIUM_ENV = "QAAGENT_CHROMIUM"
QUIET_CHROMIUM_FLAGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)


def chromium_flags(running_as_root: bool) -> list[str]:
    """Flags for a headless Chromium; root cannot use the sandbox."""
    sandbox = ["--no-sandbox"] if running_as_root else []
    return [*sandbox, *QUIET_CHROMIUM_FLAGS]


def with_chromium(launch_args: dict[str, Any], executable: str, running_as_root: bool) -> None:
    """Point launch arguments at `executable` and append the flags it needs."""
    launch_args["executable_path"] = executable
    existing = list(launch_args.get("args", []))
    launch_args["args"] = existing + [
        flag for flag in chromium_flags(running_as_root) if flag not in existing
    ]


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Generator[None, Any, Any]:
    """Amend the launch arguments once pytest-playwright's fixture has built them."""
    value = yield
    executable = os.environ.get(CHROMIUM_ENV)
    if fixturedef.argname == "browser_type_launch_args" and executable and isinstance(value, dict):
        with_chromium(value, executable, running_as_root=os.geteuid() == 0)
    return value
