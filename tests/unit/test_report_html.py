"""report.html with many failures: the first ones of each task in full, the others counted."""

import re
from pathlib import Path

from rundir_builder import Job, T, build_run

from qaagent.reporting import write_reports
from qaagent.reporting.html import FAILURES_SHOWN_PER_TASK

MORE = re.compile(r'<p class="more" data-task="([^"]+)">(\d+) more failures of')


def failing(task: str, count: int) -> Job:
    tests = [T(f"t::{task}_{index}", ["failed"], message=f"boom {index}") for index in range(count)]
    return Job(task, tests=[*tests, T(f"t::{task}_ok")])


def test_each_task_shows_its_first_failures_and_counts_the_rest(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path, "r1", [failing("big", 300), failing("small", 10)])

    (report,) = write_reports(run_dir, ["html"], environ={})

    page = report.read_text(encoding="utf-8")
    assert FAILURES_SHOWN_PER_TASK == 50
    assert page.count('<span class="category">big</span>') == 50
    assert page.count('<span class="category">small</span>') == 10
    assert "t::big_49" in page and "t::big_50" not in page
    assert MORE.findall(page) == [("big", "250")]
    assert '<a href="../evidence/tests.jsonl">evidence/tests.jsonl</a>' in page
    assert "<h2>Failures (310)</h2>" in page
    assert '<div class="value">310</div><div class="label">failed</div>' in page
    assert page.count('<details class="failure status-failed" open>') == 5
