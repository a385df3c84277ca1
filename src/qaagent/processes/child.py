"""A long-lived child command that its starter polls, interrupts, measures and ends."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Mapping
from pathlib import Path

import psutil

from qaagent.processes.tree import ProcessTree, await_gone
from qaagent.processes.watchdog import ProcessGuard

END_GRACE_SECONDS = 5.0


class Child:
    """A command in a session of its own whose whole tree is watched by the guard.

    Unlike `run_process`, nothing waits on it: the starter asks whether it ended, signals it
    and ends its tree when it chooses, so that one thread can look after many children. Only
    the command itself is handed to the watchdog, not the groups of its descendants: should
    the starter die, the command (a qaagent of its own) is stopped first and ends its tree its
    own way, keeping its evidence.
    """

    def __init__(self, tree: ProcessTree) -> None:
        self._tree = tree

    @classmethod
    def start(
        cls, argv: list[str], cwd: Path, env: Mapping[str, str], log: Path, guard: ProcessGuard
    ) -> Child:
        """Start `argv` with its output appended to `log`; OSError if it cannot start."""
        with log.open("ab") as output:
            return cls(ProcessTree.start(argv, cwd, env, output, guard))

    @property
    def pid(self) -> int:
        """The command's process id."""
        return self._tree.process.pid

    @property
    def token(self) -> str:
        """The environment token every process of the tree inherits."""
        return self._tree.token

    def exit_code(self) -> int | None:
        """The command's exit code once it ended (a signal's death as 128 + its number)."""
        code = self._tree.process.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code

    def interrupt(self) -> None:
        """SIGINT to the command alone, as Ctrl-C would: it stops its own tree its own way."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            self._tree.process.send_signal(signal.SIGINT)

    def rss_bytes(self) -> int:
        """Resident memory of the command and every process of its tree."""
        total = 0
        for proc in self._tree.survivors():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def end(self) -> None:
        """TERM then KILL whatever of the tree is left, reap the command and release the guard."""
        self._tree.end(END_GRACE_SECONDS, await_gone)
        with contextlib.suppress(OSError):
            self._tree.process.wait(END_GRACE_SECONDS)
        self._tree.close()
