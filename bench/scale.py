"""Scale: 2000 suites of `true` on 2, 8 and 16 workers; qaagent's own CPU per task, flat or not."""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
from benchlib import QAAGENT, byte_compile_qaagent, fresh, write_profile

TASKS, WORKER_COUNTS = 2000, (2, 8, 16)
TARGET_MS, FLAT = 3.0, 1.5
SAMPLE_SECONDS = 0.01


def own_cpu_seconds(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds of a command and the CPU seconds of its own process (all its threads).

    The CPU is sampled until the process exits, so the commands it starts and reaps (the
    `true`s, the watchdog) are not counted: only what qaagent itself spends per task.
    """
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL)
    watched = psutil.Process(process.pid)
    cpu = 0.0
    while process.poll() is None:
        try:
            times = watched.cpu_times()
        except psutil.Error:
            break
        cpu = times.user + times.system
        time.sleep(SAMPLE_SECONDS)
    process.wait()
    return time.perf_counter() - started, cpu


def measure(root: Path, tasks: int, workers: int) -> tuple[float, float]:
    """Wall and qaagent CPU milliseconds per task for one run on `workers` workers."""
    suites = {f"t{index:04d}": {"kind": "command", "command": ["true"]} for index in range(tasks)}
    folder = fresh(root / f"w{workers}")
    profile = write_profile(folder, suites, {"parallel": True, "max_workers": workers})
    wall, cpu = own_cpu_seconds([QAAGENT, "run-all", "--config", str(profile)], folder)
    return wall / tasks * 1000, cpu / tasks * 1000


def main() -> None:
    """Print one line per worker count, and whether the CPU per task stays flat and in target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=TASKS, help="suites of `true` per run")
    tasks = parser.parse_args().tasks
    byte_compile_qaagent()
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-scale")
    per_task = {}
    for workers in WORKER_COUNTS:
        wall_ms, cpu_ms = measure(root, tasks, workers)
        per_task[workers] = cpu_ms
        verdict = "within" if cpu_ms <= TARGET_MS else "OVER"
        print(
            f"scale: {tasks} tasks on {workers:2d} workers: qaagent CPU {cpu_ms:.2f} ms per task, "
            f"wall {wall_ms:.2f} ms per task ({verdict} target {TARGET_MS:g} ms)"
        )
    spread = max(per_task.values()) / min(per_task.values())
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    verdict = "within" if spread <= FLAT else "OVER"
    print(
        f"scale: CPU per task at {max(WORKER_COUNTS)} workers / at {min(WORKER_COUNTS)} = "
        f"{per_task[max(WORKER_COUNTS)] / per_task[min(WORKER_COUNTS)]:.2f}x, spread "
        f"{spread:.2f}x ({verdict} target {FLAT:g}x), peak memory {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
