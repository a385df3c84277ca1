"""Read a stored run directory back: its manifest, test records and diagnostics, and find runs by id."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from qaagent.errors import UsageError
from qaagent.evidence.models import (
    ARTIFACTS_DIR,
    DIAGNOSTICS_NAME,
    MANIFEST_NAME,
    TESTS_NAME,
    Diagnostic,
    Diagnostics,
    Manifest,
    TestRecord,
)
from qaagent.model.outcomes import UNFINISHED, CaseStatus

LATEST = "latest"
FAILING = frozenset({CaseStatus.failed, CaseStatus.error, *UNFINISHED})


class RunReadError(UsageError):
    """A run directory whose manifest or records cannot be read."""


@dataclass
class RunBundle:
    """Everything a report needs, read from one run directory and nothing else."""

    run_dir: Path
    manifest: Manifest
    records_path: Path | None = None
    diagnostics: Diagnostics | None = None

    @property
    def run_id(self) -> str:
        """The run's id as the manifest states it."""
        return self.manifest.run_id

    @property
    def records(self) -> Iterator[TestRecord]:
        """Every line of tests.jsonl, read anew on each use: a run of 50,000 tests is not held."""
        return (record for _, record in self.records_with_offsets())

    def records_with_offsets(self) -> Iterator[tuple[int, TestRecord]]:
        """Every record with the byte offset of its line, so a report can index it and read it later."""
        return _read_records(self.records_path) if self.records_path else iter(())

    def records_at(self, offsets: Iterable[int]) -> Iterator[TestRecord]:
        """The records whose lines start at these byte offsets of tests.jsonl."""
        if self.records_path is None:
            return
        with self.records_path.open("rb") as lines:
            for offset in offsets:
                lines.seek(offset)
                yield _record(f"{self.records_path} at byte {offset}", lines.readline())

    def final_records(self, task: str | None = None) -> Iterator[TestRecord]:
        """Records that decided each test's result, optionally of one task."""
        return (
            record
            for record in self.records
            if record.final and (task is None or record.task == task)
        )

    def diagnostic_for(self, task: str, test_id: str | None) -> Diagnostic | None:
        """The category and suggestion of one failed test, or of the task itself when no test id."""
        return self._diagnostics_by_test.get((task, test_id))

    @functools.cached_property
    def _diagnostics_by_test(self) -> dict[tuple[str, str | None], Diagnostic]:
        """Diagnostics by task and test, the first of each kept: one lookup per failure, not a scan."""
        items = self.diagnostics.items if self.diagnostics is not None else []
        index: dict[tuple[str, str | None], Diagnostic] = {}
        for item in items:
            index.setdefault((item.task, item.test_id), item)
        return index


def load_run(run_dir: Path, manifest: Manifest | None = None) -> RunBundle:
    """Read a run directory; missing record files are read as empty (an interrupted run).

    The test records are checked once here, so a broken line is refused before any report is
    written, and then read again by each report that needs them rather than kept in memory.

    `manifest` stands in for `manifest.json` while a run is still writing its evidence.
    """
    records_path = evidence_path(run_dir, TESTS_NAME)
    deque(_read_records(records_path), maxlen=0)
    return RunBundle(
        run_dir=run_dir,
        manifest=manifest or read_manifest(run_dir),
        records_path=records_path,
        diagnostics=_read_diagnostics(evidence_path(run_dir, DIAGNOSTICS_NAME)),
    )


def path_in_run(run_dir: Path, entry: str) -> Path | None:
    """A file a run names, resolved through symlinks; None when it lies outside the run folder.

    A run folder may come from anywhere (a CI artifact), so its manifest and links must not make
    qaagent read, and copy into a report, files elsewhere on this machine.
    """
    root = run_dir.resolve()
    path = (root / entry).resolve()
    return path if path.is_relative_to(root) else None


def evidence_path(run_dir: Path, entry: str) -> Path:
    """One of the run's own files, refused when it leads outside the run folder."""
    path = path_in_run(run_dir, entry)
    if path is None:
        raise RunReadError(
            f"{run_dir / entry} leads outside the run folder {run_dir}; qaagent does not read it."
        )
    return path


def read_manifest(run_dir: Path) -> Manifest:
    """The manifest of one run, with a one-line reason when it cannot be used."""
    path = evidence_path(run_dir, MANIFEST_NAME)
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise RunReadError(
            f"{run_dir} is not a run directory: it has no {MANIFEST_NAME}."
        ) from None
    except ValidationError as error:
        raise RunReadError(f"{path} is not a valid manifest: {_first_problem(error)}.") from None
    except OSError as error:
        raise RunReadError(f"{path} cannot be read: {error.strerror}.") from None


def _read_records(path: Path) -> Iterator[tuple[int, TestRecord]]:
    if not path.is_file():
        return
    offset = 0
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            start, offset = offset, offset + len(line)
            if line.strip():
                yield start, _record(f"{path}:{number}", line)


def _record(where: str, line: bytes) -> TestRecord:
    """One line of tests.jsonl as a record, or an error naming the file and where in it."""
    try:
        return TestRecord.model_validate_json(line)
    except ValidationError as error:
        raise RunReadError(
            f"{where} is not a valid test record: {_first_problem(error)}."
        ) from None


def _read_diagnostics(path: Path) -> Diagnostics | None:
    if not path.is_file():
        return None
    try:
        return Diagnostics.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise RunReadError(f"{path} is not valid diagnostics: {_first_problem(error)}.") from None


def _first_problem(error: ValidationError) -> str:
    detail = error.errors()[0]
    location = ".".join(str(part) for part in detail["loc"]) or "document"
    return f"{location}: {detail['msg']}"


@dataclass(frozen=True)
class StoredRun:
    """A run directory with its manifest, as listed by `qaagent runs list`."""

    path: Path
    manifest: Manifest

    @property
    def run_id(self) -> str:
        """The directory name, which is the run id."""
        return self.path.name


def stored_runs(runs_dir: Path) -> list[StoredRun]:
    """Run directories that have a readable manifest, newest first; links such as `latest` are not runs."""
    if not runs_dir.is_dir():
        return []
    runs: list[StoredRun] = []
    for path in runs_dir.iterdir():
        if path.is_symlink() or not (path / MANIFEST_NAME).is_file():
            continue
        try:
            runs.append(StoredRun(path, read_manifest(path)))
        except RunReadError:
            continue
    return sorted(runs, key=lambda run: (as_utc(run.manifest.started_at), run.run_id), reverse=True)


def run_directory_at(ref: str) -> Path | None:
    """`ref` as a path, when it is a run directory (it holds a manifest, or task logs only)."""
    candidate = Path(ref)
    if (candidate / MANIFEST_NAME).is_file():
        return candidate
    if (candidate / ARTIFACTS_DIR).is_dir():
        raise _without_manifest(candidate)
    return None


def resolve_run(runs_dir: Path, ref: str) -> Path:
    """A run directory from an id, a unique id prefix, `latest`, or a path to a run directory."""
    runs = stored_runs(runs_dir)
    if ref == LATEST:
        if not runs:
            raise UsageError(f"No runs in {runs_dir} yet; run `qaagent run-all` first.")
        return runs[0].path
    exact = [run for run in runs if run.run_id == ref]
    if exact:
        return exact[0].path
    matches = [run for run in runs if run.run_id.startswith(ref)]
    if len(matches) == 1:
        return matches[0].path
    if matches:
        shown = ", ".join(run.run_id for run in matches[:5])
        raise UsageError(f"Run {ref!r} is ambiguous: it starts {len(matches)} run ids ({shown}).")
    if (candidate := run_directory_at(ref)) is not None:
        return candidate
    for folder in (runs_dir / ref, Path(ref)):
        if folder.is_dir() and not folder.is_symlink():
            raise _without_manifest(folder)
    raise UsageError(
        f"No run {ref!r} in {runs_dir}: give a run id, a unique prefix of one, or 'latest' "
        "(see `qaagent runs list`)."
    )


def _without_manifest(folder: Path) -> RunReadError:
    """A run still going, or killed before its post-phase, has its task logs but no manifest yet."""
    artifacts = folder / ARTIFACTS_DIR
    if not artifacts.is_dir():
        return RunReadError(f"{folder} is not a run directory: it has no {MANIFEST_NAME}.")
    return RunReadError(
        f"{folder} has no {MANIFEST_NAME}: its run is still going, or was killed before it "
        f"wrote its evidence; the task logs are in {artifacts}."
    )


def as_utc(moment: datetime) -> datetime:
    """Naive times in the evidence are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
