"""Split: a CPU-bound pytest suite, `split: auto` on every core, against the bound and xdist.

The bound is max(longest test, total / workers) plus one start-up of pytest on the suite
(`--collect-only`), measured in the same run; `pytest -n W` is pytest-xdist on as many workers.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib import fresh, qaagent_run, ratio_line, wall_seconds, write_profile

WORKERS = os.cpu_count() or 1
MODULES, TESTS_PER_MODULE, BUSY, ROUNDS = 4, 10, 0.06, 3
BOUND_TARGET, XDIST_TARGET, PLAIN_TARGET = 1.15, 0.8, 1.0
PYTEST = [sys.executable, "-m", "pytest", "-q"]


def write_suite(folder: Path) -> None:
    """Modules of tests that each keep a core busy for `BUSY` seconds of CPU time."""
    folder.mkdir(parents=True)
    body = f"    end = time.process_time() + {BUSY}\n    while time.process_time() < end:\n        pass\n"
    for module in range(MODULES):
        tests = "".join(
            f"\n\ndef test_{index}() -> None:\n{body}" for index in range(TESTS_PER_MODULE)
        )
        (folder / f"test_m{module}.py").write_text(f"import time{tests}", encoding="utf-8")


def median_of(measure: list[float]) -> float:
    """The median of a few timings."""
    return statistics.median(measure)


def main() -> None:
    """The history-balanced split against the bound + one start-up, xdist and plain pytest."""
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-split")
    write_suite(root / "tests")
    suites = {"big": {"kind": "pytest", "path": "tests", "split": "auto"}}
    run = {"parallel": True, "max_workers": WORKERS, "python": sys.executable}
    profile = write_profile(root, suites, run)
    total = MODULES * TESTS_PER_MODULE * BUSY
    qaagent_run(profile)
    xdist = [*PYTEST, "-n", str(WORKERS), "tests"]
    times: dict[str, list[float]] = {"qaagent": [], "xdist": [], "plain": [], "startup": []}
    for _ in range(ROUNDS):
        times["qaagent"].append(qaagent_run(profile))
        times["xdist"].append(wall_seconds(xdist, cwd=root))
        times["plain"].append(wall_seconds([*PYTEST, "tests"], cwd=root))
        times["startup"].append(wall_seconds([*PYTEST, "--collect-only", "tests"], cwd=root))
    qaagent, startup = median_of(times["qaagent"]), median_of(times["startup"])
    bound = max(BUSY, total / WORKERS) + startup
    print(f"split (CPU-bound, {WORKERS} workers, {MODULES * TESTS_PER_MODULE} tests of {BUSY}s):")
    print(ratio_line("  bound", qaagent, bound, "max(longest, total/W) + start-up", BOUND_TARGET))
    print(
        ratio_line(
            "  xdist", qaagent, median_of(times["xdist"]), f"pytest -n {WORKERS}", XDIST_TARGET
        )
    )
    print(ratio_line("  plain", qaagent, median_of(times["plain"]), "plain pytest", PLAIN_TARGET))


if __name__ == "__main__":
    main()
