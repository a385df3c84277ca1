"""`qaagent validate`: check the profile and show what would run."""

from __future__ import annotations

from pathlib import Path

from qaagent.commands import ConfigOption, setup_logging


def validate(config: ConfigOption = None) -> None:
    """Check the profile and print the suites and tasks it would run."""
    from rich.table import Table

    from qaagent.commands.runs_cmd import console as plain_console
    from qaagent.config.loader import load_profile
    from qaagent.logging import get_logger
    from qaagent.plan import build_tasks

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
    for notice in loaded.notices:
        console.print(f"note: {notice}")


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
