"""Whether an attempt's output matches its `retry_on` patterns, decided by a worker with a deadline.

Python's `re` cannot be interrupted and holds the GIL while it backtracks, so a pattern such as
`(a+)+b` could keep qaagent from noticing its timeouts and signals for hours. The search runs in a
short-lived process instead: qaagent waits for it with a deadline and kills it when time is up or
the run stops, and a CPU limit ends it even if qaagent is gone. Only the standard library is used
here, so the worker starts quickly.
"""

from __future__ import annotations

import math
import re
import resource
import subprocess
import sys
import threading
from pathlib import Path

MATCH_SECONDS = 5.0
POLL_SECONDS = 0.05
MAX_SCANNED_LINE = 65536
SCAN_BLOCK = 1 << 20
MATCHED, NOT_MATCHED = 0, 1


def output_matches(
    log_path: Path,
    offset: int,
    patterns: tuple[str, ...],
    stop: threading.Event,
    seconds: float = MATCH_SECONDS,
) -> bool:
    """Whether the log from `offset` on matches a pattern; a search cut short counts as no match.

    A search that runs out of time leaves a note in the log saying so.
    """
    if not patterns or not log_path.exists() or seconds <= 0:
        return False
    cpu_limit = str(math.ceil(seconds) + 1)
    worker = subprocess.Popen(
        [sys.executable, "-m", __name__, str(log_path), str(offset), cpu_limit, *patterns],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
    )
    try:
        return _await(worker, stop, seconds, log_path) == MATCHED
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def _await(
    worker: subprocess.Popen[bytes], stop: threading.Event, seconds: float, log_path: Path
) -> int | None:
    """The worker's exit code, or None when the run stopped or time ran out first."""
    for _ in range(math.ceil(seconds / POLL_SECONDS)):
        try:
            return worker.wait(POLL_SECONDS)
        except subprocess.TimeoutExpired:
            if stop.is_set():
                return None
    with log_path.open("a", encoding="utf-8") as log:
        log.write(
            f"\nqaagent: retry_on patterns took longer than {seconds:g} s to match this output;"
            " counted as no match\n"
        )
    return None


def search_log(log_path: Path, offset: int, patterns: tuple[str, ...]) -> bool:
    """Whether the log, from `offset` on, matches a pattern on one of its lines.

    Patterns are matched against the UTF-8 bytes, so undecodable output costs nothing to scan;
    blocks are read with a bounded carry-over, so neither a huge log nor a huge line is held.
    """
    joined = "|".join(f"(?:{pattern})" for pattern in patterns)
    regex = re.compile(joined.encode(), re.MULTILINE)
    carry = b""
    with log_path.open("rb") as log:
        log.seek(offset)
        while block := log.read(SCAN_BLOCK):
            complete, _, carry = (carry + block).rpartition(b"\n")
            carry = carry[-MAX_SCANNED_LINE:]
            if regex.search(complete):
                return True
    return regex.search(carry) is not None


def main(argv: list[str]) -> int:
    """Worker: exit 0 when the log matches, 1 when not; the kernel ends it past its CPU limit."""
    log_path, offset, cpu_limit, *patterns = argv
    seconds = int(cpu_limit)
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    return MATCHED if search_log(Path(log_path), int(offset), tuple(patterns)) else NOT_MATCHED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
