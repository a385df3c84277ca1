"""`qaagent merge RUN_DIR...`: the runs of a plan's CI parts as one run folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qaagent.errors import UsageError
from qaagent.options import REPORT

if TYPE_CHECKING:
    from qaagent.evidence.models import Manifest

DEFAULT_RUNS_DIR = Path(".qaagent/runs")


def merge(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders of the parts (`run-all --part I/N`), one of each part.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            file_okay=False,
            help="Folder of the merged run, new or empty (default: a new run in .qaagent/runs).",
        ),
    ] = None,
    report: Annotated[
        str, typer.Option("--report", metavar=REPORT.metavar, help=REPORT.help)
    ] = "all",
) -> None:
    """Merge the parts' runs into one: tests, artifacts, diagnostics, counts and reports.

    The status and exit code follow from the merged tasks as in a local run, and are this
    command's exit code. Parts of different plans are refused (2); a missing part is an
    infrastructure error (3); of a part run twice, the later run is kept.
    """
    from qaagent.evidence.parts import chosen_parts, merge_part_runs
    from qaagent.reporting import parse_formats, write_reports

    formats = [] if report.strip().lower() == "none" else parse_formats(report)
    parts = chosen_parts(runs)
    run_id, out_dir = merged_folder(output)

    def write(run_dir: Path, manifest: Manifest) -> None:
        write_reports(run_dir, formats, manifest=manifest, stdout=sys.stderr)

    manifest = merge_part_runs(parts, out_dir, run_id, list(sys.argv), [write] if formats else [])
    counts = manifest.counts
    typer.echo(
        f"merged {len(parts)} parts into {out_dir}: {manifest.status} "
        f"({counts.passed} passed, {counts.failed} failed, {counts.errors} errors, "
        f"{counts.skipped} skipped)"
    )
    raise typer.Exit(manifest.exit_code or 0)


def merged_folder(output: Path | None) -> tuple[str, Path]:
    """A new run id and its folder: `-o DIR` (new or empty), else a new run folder."""
    from qaagent.evidence.rundir import create_run_dir, new_run_id

    if output is None:
        return create_run_dir(DEFAULT_RUNS_DIR.resolve())
    if output.exists() and any(output.iterdir()):
        raise UsageError(f"{output} is not empty; name a new or empty folder for the merged run.")
    output.mkdir(parents=True, exist_ok=True)
    return new_run_id(), output.resolve()
