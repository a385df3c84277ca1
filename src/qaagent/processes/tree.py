"""A command's process tree: started in a session of its own, tracked, ended to the last process."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

import psutil

from qaagent.processes.tagging import PROCESS_TAG, tagged_pids
from qaagent.processes.watchdog import ProcessGuard, group_exists

POLL_SECONDS = 0.1
TRACK_SECONDS = 1.0
EARLY_SECONDS = 2.0
BIRTH_SLACK = 1.0
PR_SET_CHILD_SUBREAPER = 36
KILL_ROUNDS = 5
CHILD_LISTS = Path(f"/proc/self/task/{os.getpid()}/children").exists()


class ProcessTree:
    """A command started in a session of its own, and every process it starts.

    They are found by four means, since each can be escaped alone: the command's process group,
    descendants remembered while still linked to it, adoption (qaagent is the child subreaper,
    so a daemon whose parent exits comes back to it) and, where qaagent cannot be the subreaper,
    the environment token they inherit. A remembered descendant that leads a group of its own
    is handed to the watchdog too, so that it ends even when qaagent is killed outright.
    """

    def __init__(self, process: subprocess.Popen[bytes], token: str, guard: ProcessGuard) -> None:
        self.process = process
        self.token = token
        self.guard = guard
        self.known: dict[int, psutil.Process] = {}
        self._guarded_groups: dict[int, str] = {}
        self._started = time.monotonic()
        self._next_track = 0.0

    @functools.cached_property
    def leader(self) -> psutil.Process:
        """The command as psutil sees it; made only when needed, since making it reads /proc."""
        return psutil.Process(self.process.pid)

    @classmethod
    def start(
        cls,
        argv: list[str],
        cwd: Path,
        env: Mapping[str, str],
        output: int | IO[bytes],
        guard: ProcessGuard,
    ) -> ProcessTree:
        """Start `argv` tagged with a fresh token, watched by the guard; OSError if it cannot."""
        token = uuid.uuid4().hex
        process = ADOPTION.spawn(lambda: _spawn(argv, cwd, {**env, PROCESS_TAG: token}, output))
        guard.watch(process.pid, token)
        ADOPTION.spare(guard.pid)
        return cls(process, token, guard)

    def track(self) -> None:
        """Remember descendants while they are still linked to the command.

        Often in the first seconds, when daemons are started and their parents exit, then
        every TRACK_SECONDS; adopted orphans are handed to the watchdog on the way.
        """
        now = time.monotonic()
        if now < self._next_track:
            return
        early = now - self._started < EARLY_SECONDS
        self._next_track = now + (POLL_SECONDS if early else TRACK_SECONDS)
        self.remember()

    def remember(self) -> None:
        """Remember descendants linked to the command now, and guard those in groups of their own."""
        for child in self._children():
            self.known.setdefault(child.pid, child)
            self._guard_group_of(child.pid)
        self._release_ended_groups()
        ADOPTION.adopt(self.guard)

    def end(self, grace: float, wait: Callable[[list[psutil.Process], float], None]) -> None:
        """TERM the whole tree, `wait` out the grace, KILL what is left, until none is left."""
        survivors = self.survivors()
        if survivors:
            _signal_all(survivors, self.process, signal.SIGTERM)
            wait(survivors, grace)
            for _ in range(KILL_ROUNDS):
                survivors = self.survivors()
                if not survivors:
                    break
                _signal_all(survivors, self.process, signal.SIGKILL)
                wait(survivors, 1.0)
        ADOPTION.reap()

    def close(self) -> None:
        """The tree is gone and the command reaped: the watchdog and adoption forget it."""
        self.guard.release(self.process.pid, self.token)
        for group, token in self._guarded_groups.items():
            self.guard.release(group, token)
        self._guarded_groups.clear()
        ADOPTION.forget(self.process.pid)

    def survivors(self) -> list[psutil.Process]:
        """Every live process of the tree: the command, its group, known, tagged and adopted."""
        found = {child.pid: child for child in self._children()}
        if self.process.poll() is None:
            found[self.leader.pid] = self.leader
        for proc in self.known.values():
            found.setdefault(proc.pid, proc)
        if not ADOPTION.subreaper:
            for proc in _tagged(self.token, self.process.pid):
                found.setdefault(proc.pid, proc)
        for proc in ADOPTION.orphans_of(self.process.pid, self.guard):
            found.setdefault(proc.pid, proc)
        own = os.getpid()
        return [proc for pid, proc in found.items() if pid != own and alive(proc)]

    def _guard_group_of(self, pid: int) -> None:
        """Have the watchdog end the group a descendant moved to, which the token may not reach.

        Asked at every look, since a descendant may leave the command's group after it was seen.
        """
        group = _group(pid)
        if group is None or group == self.process.pid or group in self._guarded_groups:
            return
        token = f"{self.token}-{group}"
        self._guarded_groups[group] = token
        self.guard.watch(group, token)

    def _release_ended_groups(self) -> None:
        """Forget groups that emptied, so that the watchdog never signals a reused group id."""
        for group, token in list(self._guarded_groups.items()):
            if not group_exists(group):
                del self._guarded_groups[group]
                self.guard.release(group, token)

    def _children(self) -> list[psutil.Process]:
        """Descendants still linked to the command, never those of a process that reused its pid.

        Until the command is reaped its pid cannot be reused; once it is, its children have
        come back to qaagent and are found by adoption.
        """
        if self.process.returncode is not None:
            return []
        try:
            return _descendants(self.process.pid)
        except psutil.Error:
            return []


class _Adoption:
    """qaagent as the child subreaper of its commands, so their orphans come back to it.

    An orphan that left its command's session and cleared its environment carries no mark of
    the command that started it; it belongs to every command that ran when it was born, and
    is ended with the last of them. Each is also handed to the watchdog of the command that
    found it, as its own group. Being the subreaper is a property of the whole process, so
    there is one adoption for all the guards a process holds; their watchdogs are spared.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.subreaper = False
        self._running: dict[int, float] = {}
        self._adopted: dict[int, tuple[psutil.Process, str, ProcessGuard]] = {}
        self.watchdogs: set[int] = set()

    def spawn(self, start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        """Start a command, known as running before any orphan search can see it."""
        with self._lock:
            if not self.subreaper:
                self.subreaper = _become_subreaper()
            started = time.time()
            process = start()
            self._running[process.pid] = started
            return process

    def forget(self, leader: int) -> None:
        """The command is reaped; its pid may be reused."""
        with self._lock:
            self._running.pop(leader, None)

    def spare(self, watchdog: int | None) -> None:
        """A watchdog is a child in a session of its own, and never an orphan to end."""
        if watchdog is not None and watchdog not in self.watchdogs:
            with self._lock:
                self.watchdogs.add(watchdog)

    def adopt(self, guard: ProcessGuard) -> None:
        """Hand newly adopted orphans to the guard and reap those that ended by themselves."""
        with self._lock:
            self._refresh(guard)

    def orphans_of(self, leader: int, guard: ProcessGuard) -> list[psutil.Process]:
        """Adopted orphans to end with this command: from its session, or from nobody else's."""
        with self._lock:
            self._refresh(guard)
            others = [started for pid, started in self._running.items() if pid != leader]
            ending = []
            for pid, (proc, _, _) in self._adopted.items():
                session = _session(pid)
                if session == leader or (
                    session not in self._running
                    and not any(started <= _born(proc) + BIRTH_SLACK for started in others)
                ):
                    ending.append(proc)
            return ending

    def reap(self) -> None:
        """Collect the exit status of adopted orphans that ended, so no zombie stays."""
        with self._lock:
            self._forget_ended()

    def _refresh(self, guard: ProcessGuard) -> None:
        """Find orphans among qaagent's children; reap and forget those that are gone.

        Only children that are neither commands, watchdogs nor known orphans are looked at,
        so a refresh costs little however many commands run.
        """
        if not self.subreaper:
            return
        own_session = os.getsid(0)
        known = {*self.watchdogs, *self._running, *self._adopted}
        for pid in _own_children():
            if pid in known or _session(pid) in (None, own_session):
                continue
            with contextlib.suppress(psutil.Error):
                child = psutil.Process(pid)
                token = f"adopted-{uuid.uuid4().hex}"
                self._adopted[pid] = (child, token, guard)
                with contextlib.suppress(OSError):
                    guard.watch(os.getpgid(pid), token)
        self._forget_ended()

    def _forget_ended(self) -> None:
        """Reap adopted orphans that ended and have their watchdogs forget them."""
        for pid, (proc, token, watcher) in list(self._adopted.items()):
            if not alive(proc):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                del self._adopted[pid]
                watcher.release(pid, token)


ADOPTION = _Adoption()


def _signal_all(
    procs: Iterable[psutil.Process], leader: subprocess.Popen[bytes], signum: int
) -> None:
    """Signal the command's process group and every listed process."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader.pid, signum)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signum)


def kill_process_trees() -> None:
    """SIGKILL every process group started below this process, then any stragglers.

    The watchdogs are spared: they go on to end what left these trees once qaagent has exited.
    """
    own_group = os.getpgrp()
    spared = ADOPTION.watchdogs
    descendants = [
        process
        for process in psutil.Process().children(recursive=True)
        if process.pid not in spared
    ]
    groups = set()
    for process in descendants:
        try:
            groups.add(os.getpgid(process.pid))
        except ProcessLookupError:
            continue
    for group in groups - {own_group}:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    for process in descendants:
        try:
            process.kill()
        except psutil.Error:
            continue


def await_gone(procs: list[psutil.Process], seconds: float) -> None:
    """Wait until every listed process is gone or a zombie, or `seconds` pass."""
    limit = time.monotonic() + seconds
    while time.monotonic() < limit and any(alive(proc) for proc in procs):
        time.sleep(POLL_SECONDS)


def alive(proc: psutil.Process) -> bool:
    """Running and not a zombie waiting to be reaped."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _tagged(token: str, leader: int) -> list[psutil.Process]:
    """Processes other than the command itself that inherited its token, wherever they moved."""
    found = []
    for pid in tagged_pids([token], exclude={leader}):
        with contextlib.suppress(psutil.Error):
            found.append(psutil.Process(pid))
    return found


def _spawn(
    argv: list[str], cwd: Path, env: Mapping[str, str], output: int | IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start the command in a new session, output merged into one pipe or file, no input."""
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
    )


def _become_subreaper() -> bool:
    """Have orphans of the commands re-parented to qaagent instead of init (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _own_children() -> list[int]:
    """This process's children where orphans come back: those of its main thread, else all.

    The kernel hands an orphan to the subreaper's first live thread, the main one while it
    runs; the commands, children of the worker threads that started them, are known anyway.
    Reading one list instead of one per thread keeps the cost flat as workers are added.
    """
    own = os.getpid()
    if CHILD_LISTS:
        with contextlib.suppress(OSError, ValueError):
            listing = Path(f"/proc/{own}/task/{own}/children").read_bytes()
            return [int(child) for child in listing.split()]
    listed = _child_pids(own)
    if listed is not None:
        return listed
    try:
        return [child.pid for child in psutil.Process(own).children()]
    except psutil.Error:
        return []


def _descendants(leader: int) -> list[psutil.Process]:
    """Every descendant of a process, walked down the kernel's child lists, else by a scan.

    The walk costs one read per process of the tree, where a scan reads every process there is.
    """
    if not CHILD_LISTS:
        return psutil.Process(leader).children(recursive=True)
    found: list[psutil.Process] = []
    parents = [leader]
    while parents:
        for pid in _child_pids(parents.pop()) or []:
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(pid))
                parents.append(pid)
    return found


def _child_pids(pid: int) -> list[int] | None:
    """The children of every thread of a process, from /proc; None where the kernel has no lists.

    A process that is gone has no children.
    """
    if not CHILD_LISTS:
        return None
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    children: list[int] = []
    for thread in threads:
        try:
            children += [int(child) for child in (thread / "children").read_bytes().split()]
        except OSError:
            continue
    return children


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _born(proc: psutil.Process) -> float:
    """When the process started; unknown counts as late, so it is never ended early."""
    try:
        return float(proc.create_time())
    except psutil.Error:
        return math.inf
