"""Any command that writes JUnit XML to $QAAGENT_JUNIT, or is judged by its exit code alone."""

from __future__ import annotations

from pathlib import Path

from qaagent.model.outcomes import CaseStatus, TestCase
from qaagent.model.task import Task
from qaagent.tools.attempts import AdapterDefaults
from qaagent.tools.base import Invocation, RunContext


class CommandAdapter(AdapterDefaults):
    """`command + args`; a retry reruns the whole command."""

    def invocation(
        self, task: Task, context: RunContext, attempt_dir: Path, rerun: list[TestCase]
    ) -> Invocation:
        """The suite's command, with the JUnit path in the attempt's folder."""
        argv = [*(task.command or ()), *task.args, *task.cli_args]
        return Invocation(argv=argv, cwd=task.cwd, env={}, junit=attempt_dir / "junit.xml")

    def cases_without_junit(
        self, task: Task, exit_code: int, tail: list[str]
    ) -> list[TestCase] | None:
        """One case named after the task: passed on exit 0, else failed with the last lines."""
        passed = exit_code == 0
        return [
            TestCase(
                id=task.name,
                classname=task.suite,
                name=task.name,
                status=CaseStatus.passed if passed else CaseStatus.failed,
                message=None if passed else f"exited with {exit_code}",
                output="\n".join(tail) or None,
            )
        ]
