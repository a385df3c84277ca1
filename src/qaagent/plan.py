"""The plan: suites expanded into tasks (one per matrix combination), then selected."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from qaagent.config.suites import SuiteSpec
from qaagent.model.task import Task
from qaagent.naming import task_name


def build_tasks(suites: Iterable[SuiteSpec]) -> list[Task]:
    """Expand every suite into its tasks, keeping suite order."""
    return [task for suite in suites for task in expand_matrix(suite)]


def expand_matrix(suite: SuiteSpec) -> list[Task]:
    """One task per combination of matrix values, named like `evals[model=haiku]`."""
    keys = list(suite.matrix)
    combinations = itertools.product(*(suite.matrix[key] for key in keys)) if keys else [()]
    tasks = []
    for values in combinations:
        matrix = dict(zip(keys, values, strict=True))
        tasks.append(
            Task(
                name=task_name(suite.name, matrix),
                suite=suite.name,
                kind=suite.kind,
                path=suite.path,
                cwd=suite.cwd,
                command=_fill_all(suite.command, matrix) if suite.command else None,
                args=_fill_all(suite.args, matrix),
                env={name: _fill(value, matrix) for name, value in suite.env.items()},
                matrix=matrix,
                pool=suite.pool,
                timeout=suite.timeout,
                retry_count=suite.retry_count,
                priority=suite.priority,
                needs_app=suite.needs_app,
                retry_on=suite.retry_on,
                retry_on_attempts=suite.retry_on_attempts,
                retry_on_backoff=suite.retry_on_backoff,
                split=suite.split,
                split_keep_together=suite.split_keep_together,
                python=suite.python,
            )
        )
    return tasks


def worker_slots(budget: int, at_once: int) -> int:
    """Workers each task may use itself: the run's worker budget shared by the tasks at once."""
    return max(1, budget // max(1, at_once))


def with_worker_slots(tasks: Iterable[Task], slots: int) -> list[Task]:
    """`{workers}` in command, args and env replaced by the slots each task may use."""
    values = {"workers": str(slots)}
    return [
        task.model_copy(
            update={
                "command": _fill_all(task.command, values) if task.command else None,
                "args": _fill_all(task.args, values),
                "env": {name: _fill(value, values) for name, value in task.env.items()},
            }
        )
        for task in tasks
    ]


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


def _fill(text: str, matrix: dict[str, str]) -> str:
    """Replace `{key}` with the matrix value; other braces are left alone."""
    for key, value in matrix.items():
        text = text.replace("{" + key + "}", value)
    return text


def _fill_all(texts: tuple[str, ...], matrix: dict[str, str]) -> tuple[str, ...]:
    return tuple(_fill(text, matrix) for text in texts)
