"""Which tasks run: `--suite`/`--skip` patterns, `--last-failed`, and the arguments after `--`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from qaagent.errors import UsageError
from qaagent.model.task import Task


def select_tasks(
    tasks: list[Task], include: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[Task]:
    """Keep tasks whose task or suite name matches an include pattern and no exclude pattern."""
    include, exclude = list(include), list(exclude)
    return [
        task
        for task in tasks
        if (not include or _matches(task, include)) and not _matches(task, exclude)
    ]


def unmatched_patterns(tasks: list[Task], patterns: Iterable[str]) -> list[str]:
    """Patterns that select nothing, which is nearly always a typo."""
    return [pattern for pattern in patterns if not _matches_any(tasks, pattern)]


def _matches_any(tasks: list[Task], pattern: str) -> bool:
    return any(_matches(task, [pattern]) for task in tasks)


def _matches(task: Task, patterns: list[str]) -> bool:
    return any(
        name == pattern or glob_pattern(pattern).fullmatch(name)
        for pattern in patterns
        for name in (task.name, task.suite)
    )


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """`*` and `?` are wildcards; brackets stay literal, as task names hold them: `evals[m=*]`."""
    wildcards = {"*": ".*", "?": "."}
    return re.compile(
        "".join(wildcards.get(char) or re.escape(char) for char in pattern), re.DOTALL
    )


def plan_tasks(tasks: Sequence[Task], include: Sequence[str], exclude: Sequence[str]) -> list[Task]:
    """Selected tasks; a pattern that matches nothing is a usage error, never silently ignored."""
    unknown = unmatched_patterns(list(tasks), [*include, *exclude])
    if unknown:
        known = ", ".join(sorted({task.suite for task in tasks} | {task.name for task in tasks}))
        shown = ", ".join(repr(pattern) for pattern in unknown)
        raise UsageError(
            f"--suite/--skip {shown} matches no suite or task (known: {known or 'none'})."
        )
    selected = select_tasks(list(tasks), include, exclude)
    if not selected:
        raise UsageError(
            "Nothing to run: the profile and the --suite/--skip options select no task."
        )
    return selected


def with_cli_args(tasks: list[Task], cli_args: list[str]) -> list[Task]:
    """The tasks with the arguments given after `--`, for their tools to receive last."""
    return [task.model_copy(update={"cli_args": tuple(cli_args)}) for task in tasks]


def only_last_failed(
    tasks: list[Task], runs_dir: Path, notify: Callable[[str], None]
) -> list[Task]:
    """The tasks that failed in the latest run, each narrowed to its failed tests.

    With nothing to narrow to, every task runs and `notify` is told why.
    """
    from qaagent.evidence.history import last_failed

    failed = last_failed(runs_dir)
    if not failed:
        from qaagent.evidence.stored import stored_runs

        why = "nothing failed in the latest run" if stored_runs(runs_dir) else "no run yet"
        notify(f"note: --last-failed: {why}; running every selected task.")
        return tasks
    narrowed = [
        task.model_copy(update={"selected_tests": tuple(failed[task.name])})
        for task in tasks
        if task.name in failed
    ]
    if not narrowed:
        raise UsageError(
            f"--last-failed: the tasks that failed in the latest run ({', '.join(failed)}) "
            "are not among the selected tasks."
        )
    return narrowed
