"""Loaded into pytest with `-p` beside pytest-playwright: launch the Chromium named by QAAGENT_CHROMIUM.

The executable, and flags that keep a headless Chromium quiet and runnable in containers, are
added to whatever `browser_type_launch_args` the project returns, so a project's own override of
that fixture keeps working. Nothing changes when another browser than Chromium is selected.
This module imports nothing from qaagent, so any interpreter with pytest can load it.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

CHROMIUM_VARIABLE = "QAAGENT_CHROMIUM"
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
    """Point launch arguments at `executable` and append the flags it lacks."""
    launch_args["executable_path"] = executable
    existing = list(launch_args.get("args") or [])
    launch_args["args"] = existing + [
        flag for flag in chromium_flags(running_as_root) if flag not in existing
    ]


def only_chromium(config: pytest.Config) -> bool:
    """Whether every browser pytest-playwright will launch is plain Chromium (its default).

    A `--browser-channel` (chrome, msedge) names its own installed browser.
    """
    browsers = config.getoption("--browser", default=None) or ["chromium"]
    channel = config.getoption("--browser-channel", default=None)
    return not channel and all(browser == "chromium" for browser in browsers)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    """Amend the launch arguments once the fixture that builds them has returned."""
    value = yield
    executable = os.environ.get(CHROMIUM_VARIABLE)
    if (
        fixturedef.argname == "browser_type_launch_args"
        and executable
        and isinstance(value, dict)
        and only_chromium(request.config)
    ):
        with_chromium(value, executable, running_as_root=os.geteuid() == 0)
    return value
