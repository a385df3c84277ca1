"""Split on real open-source suites (networkx's algorithms, part of mpmath) against plain pytest
and xdist.

The suites and pytest-xdist are installed into a throwaway virtual environment in a temporary
folder, and their tests copied out of it, so the benchmark needs nothing installed beforehand.
Each suite runs `split: auto` on every core after one run that records its durations.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import fresh, qaagent_run, ratio_line, wall_seconds, write_profile

WORKERS = os.cpu_count() or 1
ROUNDS = 3
PLAIN_TARGET, XDIST_TARGET = 0.8, 0.8
PACKAGES = ("networkx==3.4.2", "mpmath==1.3.0", "pytest", "pytest-xdist")
SUITES = {
    "networkx": ("networkx/algorithms/tests", ()),
    "mpmath": (
        "mpmath/tests",
        (
            "test_basic_ops.py",
            "test_convert.py",
            "test_functions.py",
            "test_gammazeta.py",
            "test_matrices.py",
            "test_linalg.py",
        ),
    ),
}


def environment(folder: Path) -> Path:
    """A virtual environment with the suites' packages and pytest-xdist; its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def copy_suite(python: Path, source: str, files: tuple[str, ...], target: Path) -> None:
    """The package's tests (or only `files` of them) as a project folder of their own."""
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tests = target / "tests"
    shutil.copytree(Path(site) / source, tests, ignore=shutil.ignore_patterns("__pycache__"))
    if files:
        for path in tests.glob("*.py"):
            if path.name not in (*files, "__init__.py"):
                path.unlink()


def measure(name: str, python: Path, root: Path) -> None:
    """qaagent's split against plain pytest and `pytest -n W`, after one recording run."""
    suites = {name: {"kind": "pytest", "path": "tests", "split": "auto"}}
    run = {"parallel": True, "max_workers": WORKERS, "python": str(python)}
    profile = write_profile(root, suites, run)
    qaagent_run(profile)
    pytest = [str(python), "-m", "pytest", "-q"]
    times: dict[str, list[float]] = {"qaagent": [], "plain": [], "xdist": []}
    for _ in range(ROUNDS):
        times["qaagent"].append(qaagent_run(profile))
        times["plain"].append(wall_seconds([*pytest, "tests"], cwd=root))
        times["xdist"].append(wall_seconds([*pytest, "-n", str(WORKERS), "tests"], cwd=root))
    qaagent = statistics.median(times["qaagent"])
    plain, xdist = statistics.median(times["plain"]), statistics.median(times["xdist"])
    print(f"split {name} ({WORKERS} workers):")
    print(ratio_line("  plain", qaagent, plain, "plain pytest", PLAIN_TARGET))
    print(ratio_line("  xdist", qaagent, xdist, f"pytest -n {WORKERS}", XDIST_TARGET))


def main() -> None:
    """Install, copy and measure each suite."""
    folder = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-split-real")
    python = environment(folder / "venv")
    for name, (source, files) in SUITES.items():
        root = folder / name
        copy_suite(python, source, files, root)
        measure(name, python, root)


if __name__ == "__main__":
    main()
