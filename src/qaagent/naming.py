"""Task names and the folders they become: readable, and never one folder for two tasks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

MAX_FOLDER_BYTES = 255
HASH_LENGTH = 8
UNSAFE_IN_FOLDER_NAME = re.compile(r"[^A-Za-z0-9_.,=+@\[\]-]")
ENDS_LIKE_A_HASH = re.compile(rf"-[0-9a-f]{{{HASH_LENGTH}}}\Z")
NOT_A_FOLDER_NAME = frozenset({"", ".", ".."})


def task_name(suite: str, matrix: Mapping[str, str]) -> str:
    """`evals[model=haiku,lang=en]`; a suite without a matrix is its own single task."""
    label = ",".join(f"{key}={value}" for key, value in matrix.items())
    return f"{suite}[{label}]" if label else suite


def folder_name(task: str) -> str:
    """The name itself when it is a safe folder name, else its cleaned form plus a hash of it.

    Cleaning alone would give `a/b`, `a b` and `a_b` one folder, one JUnit file and one log;
    the hash of the exact name keeps them apart, and a clean name never ends like a hashed one.
    """
    cleaned = UNSAFE_IN_FOLDER_NAME.sub("_", task)
    if cleaned == task and task not in NOT_A_FOLDER_NAME and not ENDS_LIKE_A_HASH.search(task):
        return task
    digest = hashlib.sha256(task.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_LENGTH]
    return f"{cleaned}-{digest}"


def folder_bytes(text: str) -> int:
    """Bytes that `text` takes in a folder name once cleaned, hash not counted."""
    return len(UNSAFE_IN_FOLDER_NAME.sub("_", text).encode("utf-8", "surrogatepass"))
