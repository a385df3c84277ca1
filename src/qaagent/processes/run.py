"""Run one command in its own session, stream its output to a log, and leave no process behind."""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO

import psutil

from qaagent.processes.tagging import PROCESS_TAG, tagged_pids
from qaagent.processes.watchdog import GUARD, group_exists
from qaagent.secrets import NO_SECRETS, SecretValues, StreamMasker

TAIL_LINES = 50
MAX_LINE_BYTES = 8192
READ_CHUNK = 65536
POLL_SECONDS = 0.1
TRACK_SECONDS = 1.0
EARLY_SECONDS = 2.0
BIRTH_SLACK = 1.0
PR_SET_CHILD_SUBREAPER = 36
FLUSH_SECONDS = 0.1
KILL_ROUNDS = 5


@dataclass(frozen=True)
class ProcessResult:
    """What happened to one command: exit code, why it ended, the last lines it printed."""

    argv: list[str]
    exit_code: int | None
    started_at: datetime
    finished_at: datetime
    timed_out: bool = False
    cancelled: bool = False
    tail: list[str] = field(default_factory=list)
    error: str | None = None
    log_path: Path | None = None

    @property
    def duration(self) -> float:
        """Wall seconds the command ran."""
        return (self.finished_at - self.started_at).total_seconds()


class TailBuffer:
    """Last lines of a byte stream, decoded leniently, with bounded memory."""

    def __init__(self, on_line: Callable[[str], None] | None = None, size: int = TAIL_LINES):
        self.lines: deque[str] = deque(maxlen=size)
        self.on_line = on_line
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        """Split a chunk into lines; keep the unfinished last line for the next chunk."""
        pieces = (self._partial + chunk).split(b"\n")
        self._partial = pieces.pop()
        if len(self._partial) > MAX_LINE_BYTES:
            pieces.append(self._partial[:MAX_LINE_BYTES])
            self._partial = b""
        if self.on_line is None:
            pieces = pieces[-self.lines.maxlen :] if self.lines.maxlen else []
        for piece in pieces:
            self._add(piece)

    def close(self) -> None:
        """Keep a last line that had no newline."""
        if self._partial:
            self._add(self._partial)
            self._partial = b""

    def _add(self, piece: bytes) -> None:
        line = piece[:MAX_LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r")
        self.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    timeout: float | None,
    stop: threading.Event,
    grace: float = 5.0,
    on_line: Callable[[str], None] | None = None,
    secrets: SecretValues = NO_SECRETS,
) -> ProcessResult:
    """Run `argv` to completion, timeout or stop, appending its merged output to `log_path`.

    Secret values are masked in the output before it reaches the log or the tail.
    """
    started = _now()
    tail = TailBuffer(on_line)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        problem = _cannot_start(argv, cwd, env)
        if problem is not None:
            _write_note(log, problem)
            return ProcessResult(argv, None, started, _now(), error=problem, log_path=log_path)
        try:
            tree = ProcessTree.start(argv, cwd, env, subprocess.PIPE)
        except OSError as exc:
            message = f"could not start {argv[0]}: {exc.strerror or exc}"
            _write_note(log, message)
            return ProcessResult(argv, None, started, _now(), error=message, log_path=log_path)
        supervisor = _Supervisor(tree, log, tail, stop, timeout, grace, secrets.stream())
        exit_code = supervisor.run()
        supervisor.flush_masked()
    tail.close()
    return ProcessResult(
        argv=argv,
        exit_code=exit_code,
        started_at=started,
        finished_at=_now(),
        timed_out=supervisor.timed_out,
        cancelled=supervisor.cancelled,
        tail=list(tail.lines),
        log_path=log_path,
    )


class ProcessTree:
    """A command started in a session of its own, and every process it starts.

    They are found by four means, since each can be escaped alone: the command's process group,
    descendants remembered while still linked to it, the environment token they inherit, and
    adoption: qaagent is the child subreaper, so a daemon whose parent exits comes back to it.
    A remembered descendant that leads a group of its own is handed to the watchdog too, so
    that it ends even when qaagent is killed outright.
    """

    def __init__(self, process: subprocess.Popen[bytes], token: str) -> None:
        self.process = process
        self.token = token
        self.leader = psutil.Process(process.pid)
        self.known: dict[int, psutil.Process] = {}
        self._guarded_groups: dict[int, str] = {}
        self._started = time.monotonic()
        self._next_track = 0.0

    @classmethod
    def start(
        cls, argv: list[str], cwd: Path, env: Mapping[str, str], output: int | IO[bytes]
    ) -> ProcessTree:
        """Start `argv` tagged with a fresh token, watched by the watchdog; OSError if it cannot."""
        token = uuid.uuid4().hex
        process = ADOPTION.spawn(lambda: _spawn(argv, cwd, {**env, PROCESS_TAG: token}, output))
        GUARD.watch(process.pid, token)
        return cls(process, token)

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
        ADOPTION.adopt()

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
        GUARD.release(self.process.pid, self.token)
        for group, token in self._guarded_groups.items():
            GUARD.release(group, token)
        self._guarded_groups.clear()
        ADOPTION.forget(self.process.pid)

    def survivors(self) -> list[psutil.Process]:
        """Every live process of the tree: the command, its group, known, tagged and adopted."""
        found = {child.pid: child for child in self._children()}
        if self.process.poll() is None:
            found[self.leader.pid] = self.leader
        for proc in self.known.values():
            found.setdefault(proc.pid, proc)
        for proc in _tagged(self.token, self.process.pid):
            found.setdefault(proc.pid, proc)
        for proc in ADOPTION.orphans_of(self.process.pid):
            found.setdefault(proc.pid, proc)
        own = os.getpid()
        return [proc for pid, proc in found.items() if pid != own and _alive(proc)]

    def _guard_group_of(self, pid: int) -> None:
        """Have the watchdog end the group a descendant moved to, which the token may not reach.

        Asked at every look, since a descendant may leave the command's group after it was seen.
        """
        group = _group(pid)
        if group is None or group == self.process.pid or group in self._guarded_groups:
            return
        token = f"{self.token}-{group}"
        self._guarded_groups[group] = token
        GUARD.watch(group, token)

    def _release_ended_groups(self) -> None:
        """Forget groups that emptied, so that the watchdog never signals a reused group id."""
        for group, token in list(self._guarded_groups.items()):
            if not group_exists(group):
                del self._guarded_groups[group]
                GUARD.release(group, token)

    def _children(self) -> list[psutil.Process]:
        """Descendants still linked to the command, never those of a process that reused its pid."""
        try:
            return self.leader.children(recursive=True) if self.leader.is_running() else []
        except psutil.Error:
            return []


class _Adoption:
    """qaagent as the child subreaper of its commands, so their orphans come back to it.

    An orphan that left its command's session and cleared its environment carries no mark of
    the command that started it; it belongs to every command that ran when it was born, and
    is ended with the last of them. Each is also handed to the watchdog, as its own group.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subreaper = False
        self._running: dict[int, float] = {}
        self._adopted: dict[int, tuple[psutil.Process, str]] = {}

    def spawn(self, start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        """Start a command, known as running before any orphan search can see it."""
        with self._lock:
            if not self._subreaper:
                self._subreaper = _become_subreaper()
            started = time.time()
            process = start()
            self._running[process.pid] = started
            return process

    def forget(self, leader: int) -> None:
        """The command is reaped; its pid may be reused."""
        with self._lock:
            self._running.pop(leader, None)

    def adopt(self) -> None:
        """Hand newly adopted orphans to the watchdog and reap those that ended by themselves."""
        with self._lock:
            self._refresh()

    def orphans_of(self, leader: int) -> list[psutil.Process]:
        """Adopted orphans to end with this command: from its session, or from nobody else's."""
        with self._lock:
            self._refresh()
            others = [started for pid, started in self._running.items() if pid != leader]
            ending = []
            for pid, (proc, _) in self._adopted.items():
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
            self._refresh()

    def _refresh(self) -> None:
        """Find orphans among qaagent's children; reap and forget those that are gone."""
        if not self._subreaper:
            return
        own_session = os.getsid(0)
        spared = {GUARD.pid, *self._running}
        for child in _own_children():
            if child.pid in spared or child.pid in self._adopted:
                continue
            if _session(child.pid) not in (None, own_session):
                token = f"adopted-{uuid.uuid4().hex}"
                self._adopted[child.pid] = (child, token)
                with contextlib.suppress(OSError):
                    GUARD.watch(os.getpgid(child.pid), token)
        for pid, (proc, token) in list(self._adopted.items()):
            if not _alive(proc):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                del self._adopted[pid]
                GUARD.release(pid, token)


ADOPTION = _Adoption()


class _Supervisor:
    """Poll loop for one running command: copy output, watch the clock and the stop flag."""

    def __init__(
        self,
        tree: ProcessTree,
        log: BinaryIO,
        tail: TailBuffer,
        stop: threading.Event,
        timeout: float | None,
        grace: float,
        masker: StreamMasker,
    ) -> None:
        self.tree = tree
        self.process = tree.process
        self.masker = masker
        self.log = log
        self.tail = tail
        self.stop = stop
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.grace = grace
        self.timed_out = False
        self.cancelled = False
        process = tree.process
        self._fd = process.stdout.fileno() if process.stdout else -1
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._exit_fd = _exit_notifier(process.pid)
        if self._exit_fd is not None:
            self._selector.register(self._exit_fd, selectors.EVENT_READ)
        self._open = True
        self.log_error: str | None = None
        self._unflushed = False
        self._flushed_at = time.monotonic()

    def run(self) -> int | None:
        """Wait for the command to end by itself, or end it; then end whatever it left running.

        The tree is ended even when watching fails (an output callback raising, Ctrl-C in
        this thread), so no exception can leave processes behind.
        """
        try:
            self._watch()
            if self.cancelled or self.timed_out:
                self._note("qaagent: stopped" if self.cancelled else "qaagent: timed out, stopping")
        except BaseException:
            self.tail.on_line = None
            raise
        finally:
            self.tree.end(self.grace, self._await_gone)
            self._drain()
            self._selector.close()
            if self._exit_fd is not None:
                os.close(self._exit_fd)
            if self.process.stdout is not None:
                self.process.stdout.close()
            exit_code = self.process.wait()
            self.tree.close()
        return exit_code

    def _watch(self) -> None:
        """Copy output until the command exits, its time is up, or it is asked to stop."""
        while self.process.poll() is None:
            if self.stop.is_set():
                self.cancelled = True
                return
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.timed_out = True
                return
            self._pump(POLL_SECONDS)
            self.tree.track()

    def _pump(self, wait: float) -> None:
        """Copy what the command printed within `wait` seconds to the log and tail.

        Returns early when the command exits (its pidfd turns readable), so an ended command
        is noticed at once rather than at the next poll.
        """
        if not self._selector.get_map():
            self._flush()
            time.sleep(wait)
            return
        ready = {key.fd for key, _ in self._selector.select(wait)}
        if self._exit_fd in ready:
            self._selector.unregister(self._exit_fd)
        if self._fd not in ready:
            self._flush()
            return
        chunk = os.read(self._fd, READ_CHUNK)
        if not chunk:
            self._open = False
            self._selector.unregister(self._fd)
            self._flush()
            return
        chunk = self.masker.feed(chunk)
        self._write(chunk)
        self.tail.feed(chunk)

    def flush_masked(self) -> None:
        """Write what the masker held back, once no more output can come."""
        rest = self.masker.flush()
        self._write(rest)
        self._flush()
        self.tail.feed(rest)

    def _write(self, chunk: bytes) -> None:
        """Append output to the log, on disk within FLUSH_SECONDS, so a killed qaagent loses none.

        Heavy output is flushed at most every FLUSH_SECONDS rather than once per chunk.
        """
        if self.log_error is not None:
            return
        try:
            self.log.write(chunk)
        except OSError as error:
            self._stop_logging(error)
            return
        self._unflushed = True
        if time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        """Hand what the log buffers to the kernel, when there is anything."""
        if self._unflushed and self.log_error is None:
            try:
                self.log.flush()
            except OSError as error:
                self._stop_logging(error)
            self._unflushed = False
        self._flushed_at = time.monotonic()

    def _stop_logging(self, error: OSError) -> None:
        """Leave a log that cannot grow (a full disk) as it is; the pipe is still drained.

        The command never blocks on a log qaagent cannot keep, and its tail says why the log ends.
        """
        self.log_error = f"qaagent: output no longer logged: {error.strerror or error}"
        self.tail.lines.append(self.log_error)

    def _drain(self) -> None:
        """Read what is left in the pipe once every writer is gone."""
        limit = time.monotonic() + 1.0
        while self._open and time.monotonic() < limit:
            self._pump(POLL_SECONDS)

    def _await_gone(self, procs: list[psutil.Process], seconds: float) -> None:
        """Keep copying output until every listed process is gone or `seconds` pass.

        Zombies count as gone, and the command itself is reaped only by `subprocess`, so its
        exit status is never lost.
        """
        limit = time.monotonic() + seconds
        while time.monotonic() < limit and any(_alive(proc) for proc in procs):
            self._pump(POLL_SECONDS)

    def _note(self, message: str) -> None:
        if self.log_error is None:
            with contextlib.suppress(OSError):
                _write_note(self.log, message)


def _signal_all(
    procs: Iterable[psutil.Process], leader: subprocess.Popen[bytes], signum: int
) -> None:
    """Signal the command's process group and every listed process."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader.pid, signum)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signum)


def await_gone(procs: list[psutil.Process], seconds: float) -> None:
    """Wait until every listed process is gone or a zombie, or `seconds` pass."""
    limit = time.monotonic() + seconds
    while time.monotonic() < limit and any(_alive(proc) for proc in procs):
        time.sleep(POLL_SECONDS)


def _alive(proc: psutil.Process) -> bool:
    """Running and not a zombie waiting to be reaped."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _exit_notifier(pid: int) -> int | None:
    """A pidfd that turns readable when the process exits (Linux 5.3+); None where unsupported."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


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


def _own_children() -> list[psutil.Process]:
    try:
        return psutil.Process().children()
    except psutil.Error:
        return []


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


def _cannot_start(argv: list[str], cwd: Path, env: Mapping[str, str]) -> str | None:
    """Why the command cannot be started at all, checked before any process exists."""
    if not argv:
        return "empty command"
    if not cwd.is_dir():
        return f"working folder does not exist: {cwd}"
    program = argv[0]
    if os.sep in program:
        path = cwd / program
        if not path.exists():
            return f"command not found: {program}"
        if not os.access(path, os.X_OK) or path.is_dir():
            return f"command is not executable: {program}"
        return None
    if shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        return f"command not found: {program}"
    return None


def _write_note(log: BinaryIO, message: str) -> None:
    log.write(f"\n{message}\n".encode())
    log.flush()


def _now() -> datetime:
    return datetime.now(UTC)
