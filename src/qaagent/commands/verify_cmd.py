"""`qaagent verify RUN`: check a run folder against the sha256 index of its manifest."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated

import typer

from qaagent.commands import ConfigOption
from qaagent.commands.runs_cmd import RunsDirOption, find_run

if TYPE_CHECKING:
    from qaagent.evidence.models import EvidenceFile

MANIFEST_PARTIAL_PREFIX = ".manifest-"
PROBLEM_ORDER = ("outside", "unreadable", "missing", "changed", "extra")

RunToVerify = Annotated[
    str,
    typer.Argument(
        help="Run id, a unique prefix of one, 'latest', or the path of a run directory.",
    ),
]


@dataclass(frozen=True)
class Problem:
    """A file that differs from what the manifest indexed: outside, unreadable, missing, changed, extra."""

    kind: str
    path: str

    @property
    def line(self) -> str:
        """`changed: artifacts/unit/output.log`; a name with control characters is quoted."""
        printable = all(char.isprintable() for char in self.path)
        return f"{self.kind}: {self.path if printable else ascii(self.path)}"


def verify(
    run: RunToVerify = "latest",
    config: ConfigOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Check every file of a stored run against its manifest; exit 1 when any is not as indexed."""
    from qaagent.evidence.stored import read_manifest

    run_dir = find_run(run, config, runs_dir)
    manifest = read_manifest(run_dir)
    problems = check_files(run_dir, manifest.files)
    for problem in problems:
        typer.echo(problem.line)
    typer.echo(verdict(manifest.run_id, len(manifest.files), problems))
    if problems:
        raise typer.Exit(1)


def check_files(run_dir: Path, index: list[EvidenceFile]) -> list[Problem]:
    """Indexed files that are missing or changed, files nobody indexed, and entries leading out."""
    problems: list[Problem] = []
    indexed: set[str] = set()
    for entry in index:
        path = indexed_path(run_dir, entry.path)
        if path is None:
            problems.append(Problem("outside", entry.path))
            continue
        indexed.add(entry.path)
        if (kind := file_problem(path, entry)) is not None:
            problems.append(Problem(kind, entry.path))
    problems.extend(
        Problem("extra", found) for found in present_files(run_dir) if found not in indexed
    )
    return sorted(problems, key=lambda problem: PROBLEM_ORDER.index(problem.kind))


def indexed_path(run_dir: Path, entry: str) -> Path | None:
    """Where an index entry lies, or None when it names a place outside the run folder."""
    from qaagent.evidence.stored import path_in_run

    parts = PurePosixPath(entry).parts
    if not parts or PurePosixPath(entry).is_absolute() or ".." in parts:
        return None
    return run_dir / entry if path_in_run(run_dir, entry) is not None else None


def file_problem(path: Path, entry: EvidenceFile) -> str | None:
    """`missing` or `changed` when the file is not the one indexed, `unreadable` when unknown."""
    from qaagent.evidence.writer import sha256_of

    if path.is_symlink() or not path.is_file():
        return "missing"
    try:
        same = path.stat().st_size == entry.size and sha256_of(path) == entry.sha256
    except OSError:
        return "unreadable"
    return None if same else "changed"


def present_files(run_dir: Path) -> Iterator[str]:
    """Every file and symlink in the run folder, except the manifest and its partial copies."""
    from qaagent.evidence.models import MANIFEST_NAME

    for folder, subfolders, names in os.walk(run_dir, followlinks=False):
        subfolders.sort()
        links = [name for name in subfolders if (Path(folder) / name).is_symlink()]
        for name in sorted([*names, *links]):
            shown = (Path(folder) / name).relative_to(run_dir).as_posix()
            if shown == MANIFEST_NAME or _is_manifest_partial(shown):
                continue
            yield shown


def _is_manifest_partial(shown: str) -> bool:
    """A manifest being written (or left by a crash mid-write) next to manifest.json."""
    return "/" not in shown and shown.startswith(MANIFEST_PARTIAL_PREFIX) and shown.endswith(".tmp")


def verdict(run_id: str, indexed: int, problems: list[Problem]) -> str:
    """The last line: intact, or how many of each problem."""
    if not problems:
        return f"Run {run_id} is intact: its {indexed} indexed files match the manifest."
    counts = Counter(problem.kind for problem in problems)
    shown = ", ".join(f"{counts[kind]} {kind}" for kind in PROBLEM_ORDER if counts[kind])
    return (
        f"Run {run_id} is not as qaagent wrote it: {shown} (the manifest indexes {indexed} files)."
    )
