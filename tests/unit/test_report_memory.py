"""A run of tens of thousands of tests: each report keeps a few numbers per test, never the tests."""

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from peak_memory import bytes_per_test

from qaagent.reporting.bundle import load_run
from qaagent.reporting.junit_report import write_junit

INDEX_BYTES = 400


def test_merged_junit_is_written_a_test_case_at_a_time(tmp_path: Path) -> None:
    def prepare(run_dir: Path) -> Callable[[], object]:
        bundle = load_run(run_dir)
        return lambda: _write_to_file(
            tmp_path / "junit.xml", lambda stream: write_junit(bundle, stream)
        )

    per_test = bytes_per_test(tmp_path, prepare)
    assert per_test < INDEX_BYTES, f"{per_test:.0f} bytes per test"


def _write_to_file(path: Path, write: Callable[[TextIO], None]) -> None:
    with path.open("w", encoding="utf-8") as stream:
        write(stream)
