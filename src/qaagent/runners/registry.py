"""Which runner runs which kind of suite."""

from __future__ import annotations

from collections.abc import Callable

from qaagent.errors import UsageError
from qaagent.runners.base import Runner
from qaagent.runners.behave_runner import BehaveAdapter
from qaagent.runners.command_runner import CommandAdapter
from qaagent.runners.playwright_runner import PlaywrightNodeAdapter, PlaywrightPythonAdapter
from qaagent.runners.pytest_runner import PytestAdapter
from qaagent.runners.tool_runner import ToolRunner

RUNNERS: dict[str, Callable[[], Runner]] = {
    "pytest": lambda: ToolRunner(PytestAdapter()),
    "command": lambda: ToolRunner(CommandAdapter()),
    "behave": lambda: ToolRunner(BehaveAdapter()),
    "playwright-python": lambda: ToolRunner(PlaywrightPythonAdapter()),
    "playwright-node": lambda: ToolRunner(PlaywrightNodeAdapter()),
}


def runner_for(kind: str) -> Runner:
    """A fresh runner for a suite kind."""
    try:
        factory = RUNNERS[kind]
    except KeyError:
        known = ", ".join(sorted(RUNNERS))
        raise UsageError(f"no runner for suite kind {kind!r} (known: {known})") from None
    return factory()
