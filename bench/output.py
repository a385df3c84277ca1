"""Output: 20 MB of short lines (`yes | head -c 20M`) through a command suite, against `cat`.

qaagent's side is the task's own duration (the command's start to its end, its output copied
to the log, masked and sampled for the events) less that of the same task printing nothing,
a task's fixed cost that `bench/scale.py` measures; `cat`'s side is the same producer piped
through `cat` into a file. The peak memory is qaagent's, with this output and without.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import QAAGENT, byte_compile_qaagent, fresh, write_profile

MEGABYTES, ROUNDS = 20, 9
TARGET = 2.0


def producer(size: int) -> str:
    """The shell pipeline that prints `size` bytes of `y` lines."""
    return f"yes | head -c {size}"


def cat_seconds(folder: Path, size: int) -> float:
    """Wall time of the producer piped through `cat` into a file."""
    started = time.perf_counter()
    command = f"{producer(size)} | cat > {folder / 'cat.log'}"
    subprocess.run(["sh", "-c", command], check=True)
    return time.perf_counter() - started


def qaagent_task(folder: Path, size: int) -> tuple[float, float]:
    """The task's duration from the run's events, and qaagent's peak memory in MB."""
    suites = {"lines": {"kind": "command", "command": ["sh", "-c", producer(size)]}}
    profile = write_profile(fresh(folder), suites, {"parallel": False})
    events = folder / "events.jsonl"
    argv = [QAAGENT, "run-all", "--config", str(profile), "--events", f"jsonl={events}"]
    process = subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"qaagent failed with exit code {process.returncode}")
    finished = [
        json.loads(line)
        for line in events.read_text(encoding="utf-8").splitlines()
        if '"task-finished"' in line
    ]
    return float(finished[0]["duration"]), usage.ru_maxrss / 1024


def main() -> None:
    """Print the best and median of interleaved rounds, the ratio, and the peak memory."""
    byte_compile_qaagent()
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-output")
    size = MEGABYTES * 1024 * 1024
    qaagent_times, fixed_times, cat_times = [], [], []
    peaks, idle_peaks = [], []
    for _ in range(ROUNDS):
        cat_times.append(cat_seconds(root, size))
        empty, idle_peak = qaagent_task(root / "idle", 0)
        seconds, peak = qaagent_task(root / "run", size)
        qaagent_times.append(seconds)
        fixed_times.append(empty)
        peaks.append(peak)
        idle_peaks.append(idle_peak)
    fixed = statistics.median(fixed_times)
    best, median = min(qaagent_times) - min(fixed_times), statistics.median(qaagent_times) - fixed
    reference = statistics.median(cat_times)
    ratio = median / reference
    verdict = "within" if ratio <= TARGET else "OVER"
    print(
        f"output: {MEGABYTES} MB of short lines: qaagent {median:.3f} s median "
        f"({best:.3f} s best; a task printing nothing {fixed:.3f} s more) "
        f"vs cat {reference:.3f} s = {ratio:.2f}x ({verdict} target {TARGET:.2f}x)"
    )
    print(
        f"output: qaagent peak memory {max(peaks):.0f} MB with the output, "
        f"{max(idle_peaks):.0f} MB without"
    )


if __name__ == "__main__":
    main()
