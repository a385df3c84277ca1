"""Split: one pytest suite of 60 tests of 0.2 s, `split: auto` on 4 workers, against the bound."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import fresh, qaagent_run, wall_seconds, write_profile

WORKERS, MODULES, TESTS_PER_MODULE, SLEEP, ROUNDS = 4, 6, 10, 0.2, 3
TARGET = 1.25


def write_suite(folder: Path) -> None:
    """Several modules of tests that each sleep."""
    folder.mkdir(parents=True)
    for module in range(MODULES):
        tests = "".join(
            f"\n\ndef test_{index}() -> None:\n    time.sleep({SLEEP})\n"
            for index in range(TESTS_PER_MODULE)
        )
        (folder / f"test_m{module}.py").write_text(f"import time{tests}", encoding="utf-8")


def node_ids() -> list[str]:
    """Every test of the suite, module by module."""
    return [
        f"tests/test_m{module}.py::test_{index}"
        for module in range(MODULES)
        for index in range(TESTS_PER_MODULE)
    ]


def pytest_processes(root: Path) -> float:
    """Wall time of one plain pytest per worker, started together, each on an equal slice.

    Nothing orchestrates them: this is the floor of any split into separate pytest processes.
    """
    ids = node_ids()
    size = len(ids) // WORKERS
    slices = [ids[start : start + size] for start in range(0, len(ids), size)]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *chunk],
            cwd=root,
            stdout=subprocess.DEVNULL,
        )
        for chunk in slices
    ]
    if any(process.wait() != 0 for process in processes):
        sys.exit("a plain pytest process failed")
    return time.perf_counter() - started


def main() -> None:
    """Print the second (history-balanced) run against total / workers and pytest -n."""
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-split")
    write_suite(root / "tests")
    suites = {"big": {"kind": "pytest", "path": "tests", "split": "auto"}}
    profile = write_profile(root, suites, {"parallel": True, "max_workers": WORKERS})
    bound = MODULES * TESTS_PER_MODULE * SLEEP / WORKERS
    qaagent_run(profile)
    xdist = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(WORKERS)]
    qaagent_times, xdist_times, floor_times = [], [], []
    for _ in range(ROUNDS):
        qaagent_times.append(qaagent_run(profile))
        xdist_times.append(wall_seconds([*xdist, "tests"], cwd=root))
        floor_times.append(pytest_processes(root))
    qaagent, reference = statistics.median(qaagent_times), statistics.median(xdist_times)
    ratio, versus = qaagent / bound, qaagent / reference
    verdict = "within" if ratio <= TARGET and versus <= 1.0 else "OVER"
    print(
        f"split: qaagent {qaagent:.2f} s vs bound {bound:.2f} s = {ratio:.2f}x, "
        f"vs pytest -n {WORKERS} {reference:.2f} s = {versus:.2f}x "
        f"({verdict} targets {TARGET:.2f}x and 1.00x)"
    )
    floor = statistics.median(floor_times)
    print(
        f"split: floor ({WORKERS} plain pytest processes, one slice each) {floor:.2f} s "
        f"= {floor / bound:.2f}x bound"
    )


if __name__ == "__main__":
    main()
