"""GitHub Actions output: `::error` annotations for failing tests and the job summary."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TextIO

from qaagent.reporting.markdown import first_line
from qaagent.reporting.summary import FailureSummary, RunSummary

MAX_ANNOTATIONS = 50


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the Actions runner reads it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, which also cannot hold ':' or ','."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(failure: FailureSummary, workspace: str | None) -> str:
    """One `::error file=…,line=…,title=…::message` line."""
    properties: list[tuple[str, str]] = []
    path = _workspace_path(failure.file, workspace)
    if path is not None:
        properties.append(("file", path))
        if failure.line is not None:
            properties.append(("line", str(failure.line)))
    subject = failure.test_id or f"task {failure.task}"
    properties.append(("title", f"{failure.task}: {subject} ({failure.category.value})"))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    message = (failure.message or "").strip() or first_line(failure.suggestion) or failure.status
    return f"::error {rendered}::{escape_data(message)}"


def annotation_lines(summary: RunSummary, workspace: str | None) -> list[str]:
    """Annotations for the failures, capped below what GitHub would show anyway."""
    lines = [annotation(failure, workspace) for failure in summary.failures[:MAX_ANNOTATIONS]]
    hidden = len(summary.failures) - MAX_ANNOTATIONS
    if hidden > 0:
        lines.append(
            f"::warning title=qaagent::{hidden} more failures are listed in the run's reports"
        )
    return lines


def _workspace_path(file: str | None, workspace: str | None) -> str | None:
    """Paths in annotations are relative to the repository checkout."""
    if not file:
        return None
    path = Path(file)
    if path.is_absolute() and workspace:
        try:
            return PurePosixPath(path.relative_to(workspace)).as_posix()
        except ValueError:
            return None
    return None if path.is_absolute() else PurePosixPath(path).as_posix()


def publish(summary: RunSummary, markdown: str, environ: Mapping[str, str], stdout: TextIO) -> None:
    """Inside GitHub Actions: annotate failures and append the Markdown to the job summary."""
    if environ.get("GITHUB_ACTIONS", "").lower() not in ("", "false", "0"):
        for line in annotation_lines(summary, environ.get("GITHUB_WORKSPACE")):
            stdout.write(line + "\n")
        stdout.flush()
    step_summary = environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        append_step_summary(Path(step_summary), markdown)


def append_step_summary(path: Path, markdown: str) -> None:
    """Append to the job summary; a summary file that cannot be written must not lose the run."""
    try:
        with path.open("a", encoding="utf-8") as target:
            target.write(markdown + "\n")
    except OSError as error:
        sys.stderr.write(
            f"qaagent: warning: the job summary was not written: GITHUB_STEP_SUMMARY {path} "
            f"cannot be appended to ({error.strerror}).\n"
        )
