"""Scale: 300 suites of `true` on 8 workers; qaagent's cost per task and its peak memory."""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path

from benchlib import fresh, qaagent_run, write_profile

TASKS, WORKERS = 300, 8
TARGET_MS, TARGET_MB = 15.0, 150.0


def main() -> None:
    """Print wall and CPU milliseconds per task and the peak resident memory of qaagent."""
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-scale")
    suites = {f"t{index:03d}": {"kind": "command", "command": ["true"]} for index in range(TASKS)}
    profile = write_profile(root, suites, {"parallel": True, "max_workers": WORKERS})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = qaagent_run(profile)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    per_task_ms = wall / TASKS * 1000
    peak_mb = after.ru_maxrss / 1024
    verdict = "within" if per_task_ms <= TARGET_MS and peak_mb <= TARGET_MB else "OVER"
    print(
        f"scale: {TASKS} tasks on {WORKERS} workers in {wall:.2f} s = {per_task_ms:.1f} ms per task "
        f"(CPU {cpu / TASKS * 1000:.1f} ms per task), peak memory {peak_mb:.0f} MB "
        f"({verdict} targets {TARGET_MS:g} ms, {TARGET_MB:g} MB)"
    )


if __name__ == "__main__":
    main()
