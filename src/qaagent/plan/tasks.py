"""Suites expanded into tasks, one per matrix combination, and `{workers}` filled in."""

from __future__ import annotations

import itertools
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
                resources=suite.resources,
                timeout=suite.timeout,
                retry_count=suite.retry_count,
                priority=suite.priority,
                needs_app=suite.needs_app,
                retry_on=suite.retry_on,
                retry_on_attempts=suite.retry_on_attempts,
                retry_on_backoff=suite.retry_on_backoff,
                split=suite.split,
                split_keep_together=suite.split_keep_together,
                split_mode=suite.split_mode,
                python=suite.python,
                cache=suite.cache,
                inputs=suite.inputs,
                root=suite.root,
            )
        )
    return tasks


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


def _fill(text: str, matrix: dict[str, str]) -> str:
    """Replace `{key}` with the matrix value; other braces are left alone."""
    for key, value in matrix.items():
        text = text.replace("{" + key + "}", value)
    return text


def _fill_all(texts: tuple[str, ...], matrix: dict[str, str]) -> tuple[str, ...]:
    return tuple(_fill(text, matrix) for text in texts)
