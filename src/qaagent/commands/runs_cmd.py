"""`qaagent runs list|show|prune|flaky`: look back at stored runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qaagent.commands import ConfigOption

if TYPE_CHECKING:
    from rich.console import Console

    from qaagent.reporting.summary import RunSummary

app = typer.Typer(
    name="runs",
    help="List, inspect and prune stored runs; find flaky tests.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

RunsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir",
        help="Folder of run directories (default: the profile's run.runs_dir).",
        file_okay=False,
    ),
]
RunArgument = Annotated[
    str,
    typer.Argument(
        help="Run id, a unique prefix of one, 'latest', or the path of a run directory.",
        show_default=False,
    ),
]


def find_runs_dir(config: Path | None, runs_dir: Path | None) -> Path:
    """The folder given with --runs-dir, else the one the profile names."""
    if runs_dir is not None:
        return runs_dir.resolve()
    from qaagent.config.loader import load_profile

    return load_profile(config).runs_dir


def find_run(run: str, config: Path | None, runs_dir: Path | None) -> Path:
    """The run a RUN argument names; a path to a run directory needs no profile."""
    from qaagent.evidence.stored import resolve_run, run_directory_at

    return run_directory_at(run) or resolve_run(find_runs_dir(config, runs_dir), run)


def console() -> Console:
    """Plain output; wide enough off a terminal that run ids and test ids are never cut."""
    import os

    from rich.console import Console

    from qaagent.reporting.terminal import console_colours

    terminal = Console()
    width = None if terminal.is_terminal else 200
    return Console(highlight=False, markup=False, width=width, **console_colours(os.environ))


@app.command("list")
def list_runs(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest runs shown.")] = 20,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Show recent runs, newest first: id, status, test counts (as the reports count), wall time."""
    from rich.table import Table

    from qaagent.evidence.stored import as_utc, stored_runs
    from qaagent.reporting.markdown import format_seconds

    folder = find_runs_dir(config, runs_dir)
    runs = stored_runs(folder)
    out = console()
    if not runs:
        out.print(f"No runs in {folder}.")
        return
    table = Table(
        "id",
        "status",
        "tests",
        "passed",
        "failed",
        "errors",
        "skipped",
        "flaky",
        "wall",
        "started",
        box=None,
    )
    for run in runs[:limit]:
        manifest = run.manifest
        counts = manifest.counts
        table.add_row(
            run.run_id,
            manifest.status.value,
            str(counts.total),
            str(counts.passed),
            str(counts.failed),
            str(counts.errors),
            str(counts.skipped),
            str(counts.flaky),
            format_seconds(manifest.wall_time),
            as_utc(manifest.started_at).strftime("%Y-%m-%d %H:%M:%S"),
        )
    out.print(table)
    if len(runs) > limit:
        out.print(f"{len(runs) - limit} older runs not shown (--limit).")


@app.command("show")
def show_run(
    run: RunArgument,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Show one run: its tasks, failures with their category and suggestion, and reports."""
    from qaagent.evidence.stored import load_run
    from qaagent.reporting.summary import build_summary

    run_dir = find_run(run, config, runs_dir)
    bundle = load_run(run_dir)
    summary = build_summary(bundle)
    out = console()
    _print_header(out, summary)
    _print_tasks(out, summary)
    _print_failures(out, summary)
    out.print(f"\nRun directory: {run_dir}")


def _print_header(out: Console, summary: RunSummary) -> None:
    from qaagent.reporting.markdown import counts_sentence, format_seconds

    run, timings = summary.run, summary.timings
    out.print(f"Run {run.id}: {run.status.value} (exit code {run.exit_code})")
    out.print(
        f"Started {timings.started_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f", commit {run.git_commit[:12]}" if run.git_commit else "")
    )
    out.print(counts_sentence(summary.counts).replace("**", ""))
    speed = f", parallelism {timings.parallelism:.2f}x" if timings.parallelism is not None else ""
    out.print(
        f"Wall time {format_seconds(timings.wall_time)}, task time "
        f"{format_seconds(timings.task_time)}{speed}"
    )


def _print_tasks(out: Console, summary: RunSummary) -> None:
    from rich.table import Table

    from qaagent.reporting.markdown import format_seconds

    table = Table(
        "task",
        "result",
        "passed",
        "failed",
        "errors",
        "skipped",
        "flaky",
        "attempts",
        "duration",
        "worker",
        box=None,
    )
    for task in summary.tasks:
        counts = task.counts
        table.add_row(
            task.name,
            task.outcome.value,
            str(counts.passed),
            str(counts.failed),
            str(counts.errors),
            str(counts.skipped),
            str(counts.flaky),
            str(task.attempts),
            format_seconds(task.duration),
            "-" if task.worker is None else str(task.worker),
        )
    out.print()
    out.print(table)


def _print_failures(out: Console, summary: RunSummary) -> None:
    from qaagent.reporting.markdown import first_line

    if not summary.failures:
        return
    out.print(f"\nFailures ({len(summary.failures)}):")
    for failure in summary.failures:
        subject = failure.test_id or f"task {failure.task}"
        where = f" at {failure.file}:{failure.line}" if failure.file and failure.line else ""
        out.print(f"  {subject} [{failure.task}] {failure.category.value}{where}")
        if failure.message:
            out.print(f"    {first_line(failure.message)}")
        if failure.suggestion:
            out.print(f"    suggestion: {failure.suggestion}")


@app.command("prune")
def prune_runs(
    keep: Annotated[int, typer.Option("--keep", min=0, help="Newest finished runs kept.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be removed.")
    ] = False,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Remove finished run directories older than the newest KEEP; history stays.

    Cached results that named a removed run go with it.
    """
    import shutil

    from qaagent.errors import UsageError
    from qaagent.evidence.cached import remove_stale
    from qaagent.evidence.stored import stored_runs
    from qaagent.model.run import RunStatus

    folder = find_runs_dir(config, runs_dir)
    finished = [run for run in stored_runs(folder) if run.manifest.status is not RunStatus.running]
    doomed = finished[keep:]
    out = console()
    for removed, run in enumerate(doomed):
        if not dry_run:
            try:
                shutil.rmtree(run.path)
            except OSError as error:
                raise UsageError(
                    f"{run.path} cannot be removed ({error.strerror}); "
                    f"{removed} runs were removed before it."
                ) from None
        out.print(f"{'would remove' if dry_run else 'removed'} {run.run_id}")
    if not dry_run:
        remove_stale(folder)
    out.print(
        f"{len(doomed)} runs {'to remove' if dry_run else 'removed'}, {min(keep, len(finished))} kept."
    )


@app.command("flaky")
def flaky(
    last: Annotated[int, typer.Option("--last", min=1, help="Runs looked at, newest first.")] = 20,
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """List tests that were flaky, or both passed and failed, in the last runs."""
    from rich.table import Table

    from qaagent.evidence.history import flaky_tests, sync_history

    folder = find_runs_dir(config, runs_dir)
    out = console()
    if not folder.is_dir():
        out.print(f"No runs in {folder}.")
        return
    sync_history(folder)
    found = flaky_tests(folder, last)
    if not found:
        out.print(f"No flaky tests in the last {last} runs.")
        return
    table = Table("task", "test", "runs", "passed", "failed", "flaky", "last seen", box=None)
    for test in found:
        table.add_row(
            test.task,
            test.test_id,
            str(test.runs),
            str(test.passed),
            str(test.failed),
            str(test.flaky),
            test.last_run,
        )
    out.print(table)
    out.print(f"{len(found)} unstable tests in the last {last} runs.")
