"""A watchdog process that ends every command of a run when qaagent dies, even by SIGKILL.

qaagent registers each command's process group and token with the watchdog through a pipe, and
releases it once the command's tree is gone. The watchdog reads until the pipe closes, which
happens however qaagent ends; whatever is still registered then is ended the way qaagent ends a
tree itself: TERM to the group and to every tagged process, a grace period, then KILL. This
covers what a parent-death signal cannot: grandchildren, and commands that ignore SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping

from qaagent.processes.tagging import tagged_pids

GRACE_SECONDS = 5.0
POLL_SECONDS = 0.1
KILL_ROUNDS = 5
CLOSE_TIMEOUT = GRACE_SECONDS + KILL_ROUNDS * POLL_SECONDS + 5.0


class ProcessGuard:
    """qaagent's end of a watchdog: told about every command and app started under it.

    Whoever runs commands holds one and passes it down (the CLI starts it before the run, so
    that its start does not delay the first task); it starts itself at the first command.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = False
        self._pipe: int | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The watchdog's process id, once it was started."""
        return self._watchdog.pid if self._watchdog is not None else None

    def start(self) -> None:
        """Start the watchdog, unless it runs already; commands started later are covered."""
        with self._lock:
            self._start()

    def watch(self, group: int, token: str) -> None:
        """Have the watchdog end this group and token's processes should qaagent die."""
        self._send(b"+", group, token)

    def release(self, group: int, token: str) -> None:
        """The command's tree is gone: forget it, so that a reused group id is never signalled."""
        self._send(b"-", group, token)

    def close(self) -> None:
        """Close the pipe and wait for the watchdog, which ends whatever is still registered."""
        with self._lock:
            pipe, watchdog, self._pipe = self._pipe, self._watchdog, None
        if pipe is not None:
            os.close(pipe)
        if watchdog is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(CLOSE_TIMEOUT)

    def _send(self, sign: bytes, group: int, token: str) -> None:
        """One line to the watchdog; never blocks, since a watchdog that stopped reading must not
        stop the run.
        """
        line = b"%s %d %s\n" % (sign, group, token.encode())
        with self._lock:
            self._start()
            if self._pipe is not None:
                with contextlib.suppress(OSError):
                    os.write(self._pipe, line)

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        read, write = os.pipe()
        try:
            self._watchdog = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,
            )
        except OSError:
            os.close(write)
            return
        finally:
            os.close(read)
        os.set_blocking(write, False)
        self._pipe = write


def read_registrations(lines: Iterable[bytes]) -> dict[str, int]:
    """Token → process group of every command registered and not released when the pipe closed."""
    watched: dict[str, int] = {}
    for line in lines:
        match line.split():
            case [b"+", group, token] if group.isdigit():
                watched[token.decode()] = int(group)
            case [b"-", _, token]:
                watched.pop(token.decode(), None)
    return watched


def end_all(watched: Mapping[str, int]) -> None:
    """TERM every watched group and tagged process, wait out the grace, then KILL what is left."""
    signal_all(watched, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and any_left(watched):
        time.sleep(POLL_SECONDS)
    for _ in range(KILL_ROUNDS):
        if not any_left(watched):
            return
        signal_all(watched, signal.SIGKILL)
        time.sleep(POLL_SECONDS)


def signal_all(watched: Mapping[str, int], signum: int) -> None:
    """Signal each watched process group and every process carrying a watched token, once.

    A tagged process inside a signalled group already has the signal: a second SIGTERM would
    be a qaagent's second Ctrl-C, the stop at once that a first one avoids.
    """
    groups = set(watched.values())
    for group in groups:
        with contextlib.suppress(OSError):
            os.killpg(group, signum)
    for pid in tagged_pids(watched, exclude={os.getpid()}):
        with contextlib.suppress(OSError):
            if os.getpgid(pid) not in groups:
                os.kill(pid, signum)


def any_left(watched: Mapping[str, int]) -> bool:
    """Whether a watched group still has members or a tagged process still runs."""
    return any(group_exists(group) for group in set(watched.values())) or bool(
        tagged_pids(watched, exclude={os.getpid()})
    )


def group_exists(group: int) -> bool:
    """Whether any process is left in the group."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> None:
    """Wait for qaagent to go, then end what it left registered; deaf to the terminal's signals."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    watched = read_registrations(sys.stdin.buffer)
    if watched:
        end_all(watched)


if __name__ == "__main__":
    main()
