"""`qaagent validate`: check the profile and show what would run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qaagent.commands import ConfigOption, setup_logging

if TYPE_CHECKING:
    from qaagent.model.task import Task


def validate(config: ConfigOption = None) -> None:
    """Check the profile and print the suites and tasks it would run."""
    from rich.table import Table

    from qaagent.commands.runs_cmd import console as plain_console
    from qaagent.config.loader import load_profile
    from qaagent.logging import get_logger
    from qaagent.plan.split import split_lines
    from qaagent.plan.tasks import build_tasks
    from qaagent.plan.workers import WorkerBudget

    setup_logging()
    loaded = load_profile(config)
    get_logger(__name__).info(
        "profile loaded", path=str(loaded.path), suites=len(loaded.suites), sha256=loaded.checksum
    )
    settings = loaded.profile.run
    console = plain_console()
    name = loaded.profile.project.name or loaded.root.name
    console.print(f"Profile {loaded.path} is valid (project {name}).")
    table = Table("task", "kind", "path", "pool", "timeout", "retries", box=None)
    tasks = build_tasks(loaded.suites)
    for task in tasks:
        table.add_row(
            task.name,
            task.kind,
            _relative(task.path, loaded.root),
            task.pool or "-",
            f"{task.timeout:g}s" if task.timeout else "-",
            str(task.retry_count),
        )
    console.print(table)
    mode = (
        f"parallel, max {settings.max_workers or len(tasks)} workers"
        if settings.parallel
        else "sequential"
    )
    console.print(
        f"{_count(len(tasks), 'task')} from {_count(len(loaded.suites), 'suite')}; {mode}."
    )
    for line in order_lines(tasks, settings.suite_order, loaded.runs_dir):
        console.print(line)
    for line in split_lines(tasks, WorkerBudget.of(settings).most_shards, loaded.runs_dir, {}):
        console.print(line, highlight=False)
    for suite in loaded.suites:
        if suite.python is not None:
            console.print(f"{suite.name}: python {suite.python.describe()}", highlight=False)
    for notice in loaded.notices:
        console.print(f"note: {notice}")


def order_lines(tasks: list[Task], suite_order: list[str], runs_dir: Path) -> list[str]:
    """The start order run-all would use by default and why, then the tasks in that order."""
    from qaagent.evidence.history import HISTORY_NAME, known_task_durations
    from qaagent.plan.order import order_tasks, start_order

    history = known_task_durations(runs_dir) if (runs_dir / HISTORY_NAME).is_file() else {}
    chosen = start_order(tasks, None, history)
    ordered = order_tasks(tasks, suite_order, chosen.expected)
    expected = chosen.expected or {}
    return [chosen.line] + [
        f"  {index}. {task.name}"
        + (f" (expected {expected[task.name]:.1f}s)" if task.name in expected else "")
        for index, task in enumerate(ordered, start=1)
    ]


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
