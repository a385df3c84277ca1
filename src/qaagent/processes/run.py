"""Run one command in its own session, stream its output to a log, and leave no process behind."""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import psutil

from qaagent.processes.tree import ProcessTree, alive
from qaagent.processes.watchdog import ProcessGuard
from qaagent.secrets import NO_SECRETS, SecretValues, StreamMasker

TAIL_LINES = 50
MAX_LINE_BYTES = 8192
READ_CHUNK = 65536
POLL_SECONDS = 0.1
FLUSH_SECONDS = 0.1


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
    guard: ProcessGuard,
    grace: float = 5.0,
    on_line: Callable[[str], None] | None = None,
    secrets: SecretValues = NO_SECRETS,
) -> ProcessResult:
    """Run `argv` to completion, timeout or stop, appending its merged output to `log_path`.

    Secret values are masked in the output before it reaches the log or the tail; the guard's
    watchdog ends the command's tree should qaagent die meanwhile.
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
            tree = ProcessTree.start(argv, cwd, env, subprocess.PIPE, guard)
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
        while time.monotonic() < limit and any(alive(proc) for proc in procs):
            self._pump(POLL_SECONDS)

    def _note(self, message: str) -> None:
        if self.log_error is None:
            with contextlib.suppress(OSError):
                _write_note(self.log, message)


def _exit_notifier(pid: int) -> int | None:
    """A pidfd that turns readable when the process exits (Linux 5.3+); None where unsupported."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


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
