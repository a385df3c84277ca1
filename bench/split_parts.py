"""The cost of one more forked part: the same suite split over 2 and over 4 parts.

The suite's tests take no time, so the difference of the two wall times, halved, is what each
further part adds. No history is kept between runs, so the parts are never fewer than asked.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib import fresh, qaagent_run, write_profile

TESTS, ROUNDS, TARGET = 40, 5, 0.050


def write_suite(folder: Path) -> None:
    """Tests that pass at once."""
    folder.mkdir(parents=True)
    tests = "".join(f"\n\ndef test_{index}() -> None:\n    pass\n" for index in range(TESTS))
    (folder / "test_quick.py").write_text(tests.lstrip(), encoding="utf-8")


def timed(root: Path, parts: int) -> float:
    """One run split over `parts`, without the history a previous run left."""
    suites = {"quick": {"kind": "pytest", "path": "tests", "split": parts}}
    run = {"parallel": True, "max_workers": parts, "python": sys.executable}
    profile = write_profile(root, suites, run)
    shutil.rmtree(root / ".qaagent" / "runs", ignore_errors=True)
    return qaagent_run(profile)


def main() -> None:
    """Each further part's seconds against the target."""
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-split-parts")
    write_suite(root / "tests")
    timed(root, 2)
    two, four = [], []
    for _ in range(ROUNDS):
        two.append(timed(root, 2))
        four.append(timed(root, 4))
    each = (statistics.median(four) - statistics.median(two)) / 2
    verdict = "within" if each <= TARGET else "OVER"
    print(
        f"split parts: 2 parts {statistics.median(two):.2f} s, 4 parts "
        f"{statistics.median(four):.2f} s: {each * 1000:.0f} ms per further part "
        f"({verdict} target {TARGET * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
