"""Which runner runs which kind of suite."""

from __future__ import annotations

from collections.abc import Callable

from qaagent.errors import UsageError
from qaagent.tools.attempts import ToolRunner
from qaagent.tools.base import Runner
from qaagent.tools.behave_tool import BehaveAdapter
from qaagent.tools.command_tool import CommandAdapter
from qaagent.tools.playwright_tool import PlaywrightNodeAdapter, PlaywrightPythonAdapter
from qaagent.tools.pytest_tool import PytestAdapter

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
