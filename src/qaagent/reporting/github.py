"""GitHub Actions output: `::error` annotations for failing tests and the job summary."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TextIO

from qaagent.reporting.markdown import first_line, truncate_markdown
from qaagent.reporting.progress import in_github_actions
from qaagent.reporting.summary import FailureSummary, RunSummary

MAX_ANNOTATIONS = 10
MAX_STEP_SUMMARY = 1024 * 1024


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the Actions runner reads it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, which also cannot hold ':' or ','."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(failure: FailureSummary, path: str | None) -> str:
    """One `::error file=…,line=…,title=…::message` line."""
    properties: list[tuple[str, str]] = []
    if path is not None:
        properties.append(("file", path))
        if failure.line is not None:
            properties.append(("line", str(failure.line)))
    subject = failure.test_id or f"task {failure.task}"
    properties.append(("title", f"{failure.task}: {subject} ({failure.category.value})"))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    message = (failure.message or "").strip() or first_line(failure.suggestion) or failure.status
    return f"::error {rendered}::{escape_data(message)}"


def annotated_failures(failures: list[FailureSummary]) -> list[FailureSummary]:
    """The failures GitHub will show: each task's first, then the rest taken in turn by task.

    GitHub shows at most 10 error annotations per step, so every failing task gets one before
    any task gets a second.
    """
    by_task: dict[str, list[FailureSummary]] = {}
    for failure in failures:
        by_task.setdefault(failure.task, []).append(failure)
    rounds = itertools.zip_longest(*by_task.values())
    ordered = [failure for row in rounds for failure in row if failure is not None]
    return ordered[:MAX_ANNOTATIONS]


def annotation_lines(
    summary: RunSummary, workspace: str | None, folders: Mapping[str, Path] | None = None
) -> list[str]:
    """Annotations for the failures GitHub will show."""
    folders = folders or {}
    return [
        annotation(failure, workspace_path(failure.file, folders.get(failure.task), workspace))
        for failure in annotated_failures(summary.failures)
    ]


def workspace_path(file: str | None, folder: Path | None, workspace: str | None) -> str | None:
    """A test's file relative to the repository checkout, where GitHub looks for it.

    Tools report files relative to the folder they ran in (a suite's `cwd`) or to a folder above
    it (pytest's rootdir), so the nearest of those that holds the file leads a relative path; a
    file outside the workspace gets no location.
    """
    if not file:
        return None
    path = Path(file)
    if not path.is_absolute() and folder is not None:
        path = _located(path, folder)
    if not path.is_absolute():
        return PurePosixPath(os.path.normpath(path)).as_posix()
    if not workspace:
        return None
    try:
        relative = Path(os.path.realpath(path)).relative_to(os.path.realpath(workspace))
    except ValueError:
        return None
    return PurePosixPath(relative).as_posix()


def _located(file: Path, folder: Path) -> Path:
    """The file under the folder, or under the nearest parent that has it."""
    for base in (folder, *folder.parents):
        if (base / file).exists():
            return base / file
    return folder / file


def not_annotated_note(summary: RunSummary) -> str | None:
    """The job summary's line about failures beyond GitHub's annotation limit."""
    hidden = len(summary.failures) - MAX_ANNOTATIONS
    if hidden <= 0:
        return None
    return (
        f"{hidden} more failures have no annotation (GitHub shows {MAX_ANNOTATIONS} per step); "
        "every failure is in the run's `reports/report.html` and `reports/summary.md`."
    )


def publish(
    summary: RunSummary,
    markdown: str,
    environ: Mapping[str, str],
    stdout: TextIO,
    folders: Mapping[str, Path] | None = None,
) -> None:
    """Inside GitHub Actions: annotate failures and append the Markdown to the job summary.

    `folders` maps each task to the folder it ran in, which leads the relative paths it reports.
    """
    annotating = in_github_actions(environ)
    if annotating:
        for line in annotation_lines(summary, environ.get("GITHUB_WORKSPACE"), folders):
            stdout.write(line + "\n")
        stdout.flush()
        note = not_annotated_note(summary)
        if note is not None:
            markdown = f"{markdown.rstrip()}\n\n{note}\n"
    step_summary = environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        append_step_summary(Path(step_summary), markdown, Path(summary.run.run_dir))


def append_step_summary(path: Path, markdown: str, run_dir: Path) -> None:
    """Append to the job summary, within GitHub's 1 MiB; a summary file that cannot be written
    must not lose the run."""
    try:
        used = path.stat().st_size if path.exists() else 0
        room = max(MAX_STEP_SUMMARY - used, 0)
        reports = run_dir / "reports"
        cut_note = (
            f"… the rest is cut to keep the job summary under 1 MiB; the full report is "
            f"{reports / 'report.html'} (and {reports / 'summary.md'}) in the run folder, "
            "part of the run's evidence artifact."
        )
        with path.open("a", encoding="utf-8") as target:
            target.write(truncate_markdown(markdown + "\n", room, cut_note))
    except OSError as error:
        sys.stderr.write(
            f"qaagent: warning: the job summary was not written: GITHUB_STEP_SUMMARY {path} "
            f"cannot be appended to ({error.strerror}).\n"
        )
