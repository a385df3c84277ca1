"""Finding every process a command started, by a token in its environment.

Each command gets a token that all its descendants inherit. Descendants that leave the session
(browser helpers, daemons) keep the environment, so they can still be found and ended by the
token, the way Jenkins' process-tree killer finds build processes. Only the standard library is
used here, so that the watchdog process stays small.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path

PROCESS_TAG = "QAAGENT_PROCESS_TAG"
EXEC_SETTLE_SECONDS = 0.01
PF_KTHREAD = 0x00200000
PROC = Path("/proc")


def tag_of(token: str) -> bytes:
    """The environment entry that marks the processes of one command."""
    return f"{PROCESS_TAG}={token}".encode()


def tagged_pids(tokens: Collection[str], exclude: Collection[int] = ()) -> list[int]:
    """Processes whose environment carries one of the tokens, found by one pass over /proc.

    A process caught in the middle of an exec shows an empty environment for an instant, so
    those are read once more after a short pause. Empty where there is no /proc.
    """
    if not tokens:
        return []
    needles = {tag_of(token) for token in tokens}
    matches: list[int] = []
    unreadable: list[int] = []
    for pid in _pids():
        if pid not in exclude:
            _sort_by_environment(pid, needles, matches, unreadable)
    if unreadable:
        time.sleep(EXEC_SETTLE_SECONDS)
        for pid in unreadable:
            _sort_by_environment(pid, needles, matches, [])
    return matches


def _pids() -> list[int]:
    try:
        return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]
    except OSError:
        return []


def _sort_by_environment(
    pid: int, needles: Collection[bytes], matches: list[int], empty: list[int]
) -> None:
    """Add `pid` to `matches` when its environment holds a needle, to `empty` when it shows none."""
    try:
        environ = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return
    if any(needle in environ for needle in needles):
        entries = set(environ.split(b"\0"))
        if not entries.isdisjoint(needles):
            matches.append(pid)
    elif not environ and _user_process(pid):
        empty.append(pid)


def _user_process(pid: int) -> bool:
    """Neither a kernel thread nor a zombie, whose environments are empty for good."""
    try:
        stat = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return False
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[0] != b"Z" and not int(fields[6]) & PF_KTHREAD
