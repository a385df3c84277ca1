"""Reports of a run, made from its run directory alone so any stored run can be reported again."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from qaagent.errors import UsageError

if TYPE_CHECKING:
    from qaagent.evidence.models import Manifest
    from qaagent.evidence.stored import RunBundle
    from qaagent.model.results import TaskResult
    from qaagent.reporting.summary import RunSummary

PRELOADED_MODULES = (
    "qaagent.evidence.stored",
    "qaagent.reporting.github",
    "qaagent.reporting.html",
    "qaagent.reporting.junit_report",
    "qaagent.reporting.markdown",
    "qaagent.reporting.summary",
)
ALL_FORMATS = ("junit", "json", "md", "html")
FILE_NAMES = {
    "junit": "junit.xml",
    "json": "summary.json",
    "md": "summary.md",
    "html": "report.html",
}


def parse_formats(text: str) -> list[str]:
    """`html,md` → ["html", "md"]; `all` is every format; unknown names are a usage error."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return list(ALL_FORMATS)
    unknown = [name for name in names if name not in FILE_NAMES]
    if unknown or not names:
        raise UsageError(
            f"Unknown report format {', '.join(unknown) or repr(text)}: "
            f"choose from {', '.join(ALL_FORMATS)} or all."
        )
    return names


def render_report(run_dir: Path, fmt: str, *, destination: Path) -> str:
    """One report of a run as text, its links to the run's files right from `destination`."""
    from qaagent.evidence.stored import load_run
    from qaagent.reporting.summary import build_summary

    bundle = load_run(run_dir)
    return _render(bundle, build_summary(bundle), fmt, destination)


def write_reports(
    run_dir: Path,
    formats: Iterable[str] = ALL_FORMATS,
    *,
    environ: Mapping[str, str] = os.environ,
    stdout: TextIO | None = None,
    manifest: Manifest | None = None,
    folders: Mapping[str, Path] | None = None,
) -> list[Path]:
    """Write the chosen reports into `<run_dir>/reports/`; inside GitHub Actions, publish there too.

    With the Markdown format, `GITHUB_ACTIONS` prints one `::error` annotation per failure on
    `stdout` and `GITHUB_STEP_SUMMARY` gets the Markdown appended. Pass `manifest` when the
    reports are written before `manifest.json` (so that the manifest can index them), and
    `folders` (each task's working folder) to place the files that annotations point at.
    """
    from qaagent.evidence.models import REPORTS_DIR
    from qaagent.evidence.stored import evidence_path, load_run
    from qaagent.reporting.github import publish
    from qaagent.reporting.junit_report import write_junit
    from qaagent.reporting.summary import build_summary, write_summary_json

    chosen = list(dict.fromkeys(formats))
    for fmt in chosen:
        if fmt not in FILE_NAMES:
            raise UsageError(
                f"Unknown report format {fmt!r}: choose from {', '.join(ALL_FORMATS)}."
            )
    bundle = load_run(run_dir, manifest)
    summary = build_summary(bundle)
    evidence_path(run_dir, REPORTS_DIR)
    reports = run_dir / REPORTS_DIR
    reports.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in chosen:
        target = reports / FILE_NAMES[fmt]
        with _replacing(target) as stream:
            if fmt == "junit":
                write_junit(bundle, stream)
            elif fmt == "json":
                write_summary_json(stream, summary)
            else:
                text = _render(bundle, summary, fmt, target)
                stream.write(text)
        written.append(target)
        if fmt == "md":
            publish(summary, text, environ, stdout or sys.stdout, folders)
    return written


def print_summary_json(run_dir: Path, stream: TextIO, manifest: Manifest | None = None) -> None:
    """The run's `reports/summary.json` on `stream`, so `--json` and the file never disagree.

    A run that did not write that report gets the same summary built from its run folder, and
    no file. Pass `manifest` when `manifest.json` may be missing (a disk that filled up).
    """
    from qaagent.evidence.models import REPORTS_DIR
    from qaagent.evidence.stored import load_run, path_in_run
    from qaagent.reporting.summary import build_summary, write_summary_json

    written = path_in_run(run_dir, f"{REPORTS_DIR}/{FILE_NAMES['json']}")
    if written is not None and written.is_file():
        with written.open(encoding="utf-8") as summary:
            shutil.copyfileobj(summary, stream)
        return
    write_summary_json(stream, build_summary(load_run(run_dir, manifest)))


def print_outcome(
    stream: TextIO,
    manifest: Manifest,
    results: list[TaskResult],
    run_dir: Path,
    environ: Mapping[str, str] = os.environ,
) -> None:
    """The summary table of a finished run: coloured on a terminal, plain lines anywhere else."""
    from qaagent.reporting.progress import may_be_terminal, plain_summary

    status = str(manifest.status)
    if not may_be_terminal(stream, environ):
        stream.write(plain_summary(results, manifest.wall_time, run_dir, status))
        return
    from rich.console import Console

    from qaagent.reporting.console import print_summary
    from qaagent.reporting.terminal import console_colours

    console = Console(file=stream, highlight=False, markup=False, **console_colours(environ))
    print_summary(console, results, manifest.wall_time, run_dir, status)


def preload(formats: Iterable[str]) -> None:
    """Import the report renderers and compile the HTML template, when any report is wanted."""
    chosen = set(formats)
    if not chosen:
        return
    for name in PRELOADED_MODULES:
        importlib.import_module(name)
    if "html" in chosen:
        from qaagent.reporting.html import report_template

        report_template()


def _render(bundle: RunBundle, summary: RunSummary, fmt: str, destination: Path) -> str:
    from qaagent.reporting.html import render_html
    from qaagent.reporting.junit_report import render_junit
    from qaagent.reporting.markdown import render_markdown

    if fmt == "junit":
        return render_junit(bundle)
    if fmt == "json":
        return summary.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        return render_markdown(summary)
    return render_html(bundle, summary, destination=destination)


@contextlib.contextmanager
def _replacing(target: Path) -> Iterator[TextIO]:
    """A stream whose text becomes `target` once all of it is written.

    Readers never see half a report, even when a report is re-created while someone reads it, and
    a report that fails half-way leaves no partial file behind.
    """
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with partial.open("w", encoding="utf-8") as stream:
            yield stream
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
