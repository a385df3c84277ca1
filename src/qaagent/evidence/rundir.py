"""Run directories: ids that never collide, and the `latest` pointer next to them."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from qaagent.errors import ConfigError

LATEST_NAME = "latest"
CREATE_ATTEMPTS = 20
STATE_FOLDER = ".qaagent"
GITIGNORE = "# Created by qaagent automatically.\n*\n"


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by start time, and unique thanks to a random suffix: `20261122T053800Z-3f9a1c`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def prepare_runs_dir(runs_dir: Path) -> None:
    """Create the folder of run directories before anything runs, or say why it cannot be used."""
    if runs_dir.exists() and not runs_dir.is_dir():
        raise _unusable(runs_dir, "it is a file, not a folder")
    created = not runs_dir.exists()
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unusable(runs_dir, f"it cannot be created ({error.strerror})") from None
    if not os.access(runs_dir, os.W_OK | os.X_OK):
        raise _unusable(runs_dir, "it is not writable")
    ignored = ignored_folder(runs_dir, created=created)
    if ignored is not None:
        ignore_in_git(ignored)


def ignored_folder(runs_dir: Path, *, created: bool) -> Path | None:
    """The folder whose contents git should ignore: `.qaagent/`, else a runs folder qaagent made.

    A runs folder that existed before (the project root, a shared folder) is left alone.
    """
    for folder in (runs_dir, runs_dir.parent):
        if folder.name == STATE_FOLDER:
            return folder
    return runs_dir if created else None


def ignore_in_git(folder: Path) -> None:
    """Keep the runs out of `git status`, as pytest does for `.pytest_cache`; a user's file stays."""
    try:
        with (folder / ".gitignore").open("x", encoding="utf-8") as target:
            target.write(GITIGNORE)
    except OSError:
        return


def _unusable(runs_dir: Path, reason: str) -> ConfigError:
    return ConfigError(
        f"The runs folder {runs_dir} cannot hold the evidence: {reason}. "
        "Set run.runs_dir in the profile, or QAAGENT_RUNS_DIR, to a writable folder."
    )


def create_run_dir(runs_dir: Path, now: datetime | None = None) -> tuple[str, Path]:
    """Create a fresh run directory; mkdir without exist_ok is what makes the id ours alone."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(CREATE_ATTEMPTS):
        run_id = new_run_id(now)
        run_dir = runs_dir / run_id
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_id, run_dir
    raise FileExistsError(f"could not create a new run directory in {runs_dir}")


def point_latest(runs_dir: Path, run_dir: Path) -> None:
    """Make `<runs_dir>/latest` a relative symlink to the run, replaced atomically."""
    link = runs_dir / LATEST_NAME
    temporary = runs_dir / f".{LATEST_NAME}-{secrets.token_hex(4)}"
    temporary.symlink_to(run_dir.name)
    temporary.replace(link)
