"""Run one command in its own session, stream its output to a log, and leave no process behind."""

from __future__ import annotations

import contextlib
import fcntl
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
PIPE_BYTES = 1 << 20
POLL_SECONDS = 0.1
FLUSH_SECONDS = 0.1
OUTPUT_LINES_PER_SECOND = 10


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


class LineSampler:
    """Hands on at most `rate` lines a second after a first burst of as many, the newest preferred.

    A command printing a million lines must not cost a million events: each block of output
    offers its last lines, those beyond the budget are dropped (the log has every line), and
    a newest line held back is handed on once the budget allows or the output ends.
    """

    def __init__(
        self,
        on_line: Callable[[str], None],
        rate: int = OUTPUT_LINES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_line = on_line
        self.rate = rate
        self.clock = clock
        self._budget = float(rate)
        self._refilled_at = clock()
        self._held: str | None = None

    def offer(self, lines: list[str]) -> None:
        """Hand on as many of the newest lines as the budget allows; hold the newest otherwise."""
        if not lines:
            return
        self._refill()
        allowed = min(int(self._budget), len(lines))
        self._held = None if allowed else lines[-1]
        self._budget -= allowed
        for line in lines[len(lines) - allowed :]:
            self.on_line(line)

    def release(self) -> None:
        """Hand on the newest line held back, once the budget has room again."""
        if self._held is None:
            return
        self._refill()
        if self._budget >= 1:
            self._budget -= 1
            self.close()

    def close(self) -> None:
        """Hand on the newest line held back: the output has ended."""
        line, self._held = self._held, None
        if line is not None:
            self.on_line(line)

    def _refill(self) -> None:
        now = self.clock()
        self._budget = min(self.rate, self._budget + (now - self._refilled_at) * self.rate)
        self._refilled_at = now


class TailBuffer:
    """Last lines of a byte stream, decoded leniently, with bounded memory.

    Output arrives in blocks; only each block's last lines are split and decoded, so the cost
    follows the bytes, not the lines. The lines given to `on_line` are sampled by a
    `LineSampler`.
    """

    def __init__(self, on_line: Callable[[str], None] | None = None, size: int = TAIL_LINES):
        self.lines: deque[str] = deque(maxlen=size)
        self.size = size
        self.sampler = LineSampler(on_line) if on_line is not None else None
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        """Take a block's complete lines; keep its unfinished last line for the next block.

        A line longer than MAX_LINE_BYTES is cut there and the rest of it is left out.
        """
        data = self._partial + chunk
        end = data.rfind(b"\n")
        complete, self._partial = (data[:end], data[end + 1 :]) if end >= 0 else (None, data)
        lines = _last_lines(complete, self.size) if complete is not None else []
        if len(self._partial) > MAX_LINE_BYTES:
            lines.append(self._partial[:MAX_LINE_BYTES])
            self._partial = b""
        self._add(lines[-self.size :])

    def release(self) -> None:
        """Let the sampler hand on a line it held back, as time passes without output."""
        if self.sampler is not None:
            self.sampler.release()

    def silence(self) -> None:
        """Hand on no more lines: whoever took them has failed."""
        self.sampler = None

    def close(self) -> None:
        """Keep a last line that had no newline, and hand on the newest line held back."""
        if self._partial:
            self._add([self._partial])
            self._partial = b""
        if self.sampler is not None:
            self.sampler.close()

    def _add(self, pieces: list[bytes]) -> None:
        lines = [
            piece[:MAX_LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r")
            for piece in pieces
        ]
        self.lines.extend(lines)
        if self.sampler is not None:
            self.sampler.offer(lines)


def _last_lines(data: bytes, count: int) -> list[bytes]:
    """The last `count` newline-separated lines of `data`, found from its end without a full split."""
    start = len(data)
    for _ in range(count):
        start = data.rfind(b"\n", 0, start)
        if start < 0:
            break
    return data[start + 1 :].split(b"\n")


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
    on_poll: Callable[[], None] | None = None,
    secrets: SecretValues = NO_SECRETS,
) -> ProcessResult:
    """Run `argv` to completion, timeout or stop, appending its merged output to `log_path`.

    Secret values are masked in the output before it reaches the log or the tail; the guard's
    watchdog ends the command's tree should qaagent die meanwhile. `on_poll` is called at
    least every POLL_SECONDS while the command runs, on this thread, so a caller can follow
    other files the command writes without a thread of its own.
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
        supervisor = _Supervisor(tree, log, tail, stop, timeout, grace, secrets.stream(), on_poll)
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
        on_poll: Callable[[], None] | None = None,
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
        _widen_pipe(self._fd)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._exit_fd = _exit_notifier(process.pid)
        if self._exit_fd is not None:
            self._selector.register(self._exit_fd, selectors.EVENT_READ)
        self._open = True
        self.log_error: str | None = None
        self.on_poll = on_poll
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
            self.tail.silence()
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
            if self.on_poll is not None:
                self.on_poll()

    def _pump(self, wait: float) -> None:
        """Copy what the command printed within `wait` seconds to the log and tail.

        Returns early when the command exits (its pidfd turns readable), so an ended command
        is noticed at once rather than at the next poll.
        """
        self.tail.release()
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


def _widen_pipe(fd: int) -> None:
    """Let the command write ahead of qaagent by PIPE_BYTES, so neither waits on the other often.

    Where the pipe cannot grow (not Linux, a lower limit) it keeps its size.
    """
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


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
