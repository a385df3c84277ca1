"""Evidence on a full disk: what fits is written, the manifest last, or the counts are said.

A write that fails part-way must neither lose the run's verdict nor leave half-written files
that the manifest would index.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from qaagent.errors import ExitCode
from qaagent.evidence.models import DIAGNOSTICS_NAME, REPORTS_DIR, TESTS_NAME, Manifest
from qaagent.evidence.writer import (
    RunInfo,
    build_manifest,
    index_files,
    write_evidence,
    write_manifest,
)
from qaagent.model.results import TaskResult
from qaagent.model.run import RunStatus

Notify = Callable[[str], None]


@dataclass(frozen=True)
class WrittenEvidence:
    """The manifest of the run, and whether it is on disk."""

    manifest: Manifest
    stored: bool = True


def write_what_fits(
    run_dir: Path, info: RunInfo, results: list[TaskResult], error: OSError, notify: Notify
) -> WrittenEvidence:
    """After a failed write (a full disk): an infrastructure error, with what fits, manifest last.

    The partial reports go first, then, if still nothing fits, the partial test records; a
    manifest that cannot be written either is said in a notice with the counts.
    """
    failed = replace(info, exit_code=int(ExitCode.INFRASTRUCTURE_ERROR), status=RunStatus.error)
    notify(
        f"qaagent: error: The evidence could not be written completely to {run_dir} "
        f"({error.strerror or error}); the reports are left out and the run is an "
        "infrastructure error (exit code 3). Free space there, or set run.runs_dir (or "
        "QAAGENT_RUNS_DIR) to a folder with room."
    )
    for leftover in (REPORTS_DIR, TESTS_NAME, DIAGNOSTICS_NAME):
        remove_partial(run_dir / leftover)
    try:
        return WrittenEvidence(write_evidence(run_dir, failed, results))
    except OSError:
        for leftover in (TESTS_NAME, DIAGNOSTICS_NAME):
            remove_partial(run_dir / leftover)
    manifest = build_manifest(run_dir, failed, results)
    try:
        store_manifest(run_dir, manifest)
    except OSError as final:
        counts = manifest.counts
        notify(
            f"qaagent: error: The manifest could not be written to {run_dir} "
            f"({final.strerror or final}). The run: {counts.passed} passed, {counts.failed} "
            f"failed, {counts.errors} errors, {counts.skipped} skipped, {counts.flaky} flaky."
        )
        return WrittenEvidence(manifest, stored=False)
    return WrittenEvidence(manifest)


def store_manifest(run_dir: Path, manifest: Manifest) -> None:
    """Index what is on disk, leftover temporaries aside, and write the manifest alone."""
    remove_manifest_temporaries(run_dir)
    manifest.files = index_files(run_dir)
    try:
        write_manifest(run_dir, manifest)
    finally:
        remove_manifest_temporaries(run_dir)


def remove_manifest_temporaries(run_dir: Path) -> None:
    """Delete the half-written temporary files of failed manifest writes."""
    for temporary in run_dir.glob(".manifest-*.tmp"):
        temporary.unlink(missing_ok=True)


def remove_partial(path: Path) -> None:
    """Delete a file or folder that a failed write may have left half-written."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
