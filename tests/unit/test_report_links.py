"""Links from a report to its run's files: right from the report's own folder, wherever it is."""

import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from rundir_builder import sample_run

from qaagent.evidence.models import SegmentEntry, TaskEntry
from qaagent.evidence.stored import load_run
from qaagent.model.outcomes import TaskOutcome
from qaagent.reporting.html import Link, file_label, render_html, task_files
from qaagent.reporting.links import RunLinks, relative_href


def opened(report_dir: Path, href: str) -> Path:
    """The file a browser opens for a relative href on a page in report_dir."""
    return Path(os.path.normpath(report_dir / unquote(href)))


def test_a_report_in_the_runs_reports_folder_links_up_one_level(tmp_path: Path) -> None:
    links = RunLinks.for_report(tmp_path / "run", tmp_path / "run" / "reports" / "report.html")
    assert links.href("artifacts/unit/output.log") == "../artifacts/unit/output.log"


def test_a_report_outside_the_project_links_back_into_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "project" / ".qaagent" / "runs" / "r1"
    report_dir = tmp_path / "elsewhere" / "deep"
    links = RunLinks.for_report(run_dir, report_dir / "r.html")
    href = links.href("artifacts/unit/attempt-1/junit.xml")
    assert href == "../../project/.qaagent/runs/r1/artifacts/unit/attempt-1/junit.xml"
    assert opened(report_dir, href) == run_dir / "artifacts/unit/attempt-1/junit.xml"


def test_a_report_inside_the_run_folder_itself_links_down(tmp_path: Path) -> None:
    links = RunLinks.for_report(tmp_path / "run", tmp_path / "run" / "r.html")
    assert links.href("artifacts/unit/output.log") == "artifacts/unit/output.log"


def test_relative_run_and_report_paths_are_taken_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "runs")
    links = RunLinks.for_report(Path("r1"), Path("../out/r.html"))
    assert links.href("artifacts/a/output.log") == "../runs/r1/artifacts/a/output.log"


def test_links_go_through_the_real_folders_of_a_symlinked_run(tmp_path: Path) -> None:
    real = tmp_path / "disk" / "runs" / "r1"
    real.mkdir(parents=True)
    (tmp_path / "latest").symlink_to(real)
    links = RunLinks.for_report(tmp_path / "latest", tmp_path / "out" / "r.html")
    assert links.href("artifacts/a/output.log") == "../disk/runs/r1/artifacts/a/output.log"


def test_a_file_the_manifest_names_by_absolute_path_is_linked_relative_too(tmp_path: Path) -> None:
    outside = tmp_path / "shared" / "trace.zip"
    links = RunLinks.for_report(
        tmp_path / "runs" / "r1", tmp_path / "runs" / "r1" / "reports" / "x"
    )
    href = links.href(str(outside))
    assert href == "../../../shared/trace.zip"
    assert opened(tmp_path / "runs" / "r1" / "reports", href) == outside


def test_characters_that_mean_something_in_a_url_are_escaped(tmp_path: Path) -> None:
    target = tmp_path / "run" / "artifacts" / "evals[model=haiku]" / "shot #1 50%?.png"
    href = relative_href(tmp_path / "run" / "reports", target)
    assert href == "../artifacts/evals%5Bmodel%3Dhaiku%5D/shot%20%231%2050%25%3F.png"
    assert opened(tmp_path / "run" / "reports", href) == target


def test_a_colon_in_the_first_segment_is_not_read_as_a_url_scheme(tmp_path: Path) -> None:
    href = relative_href(tmp_path, tmp_path / "c:odd" / "log")
    assert href == "c%3Aodd/log"


def test_without_a_relative_path_the_link_is_an_absolute_file_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def other_drive(path: str, start: str) -> str:
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.setattr(os.path, "relpath", other_drive)
    target = tmp_path / "run" / "artifacts" / "a b.log"
    assert relative_href(tmp_path / "reports", target) == target.as_uri()


def task_entry(**files: object) -> TaskEntry:
    return TaskEntry(
        name="e2e", suite="e2e", kind="playwright", outcome=TaskOutcome.failed, **files
    )


def test_a_tasks_files_are_each_linked_once_with_their_path_in_the_task_folder(
    tmp_path: Path,
) -> None:
    links = RunLinks.for_report(tmp_path, tmp_path / "reports" / "report.html")
    task = task_entry(
        log="artifacts/e2e/output.log",
        junit=["artifacts/e2e/attempt-1/junit.xml"],
        artifacts=[
            "artifacts/e2e/attempt-1/test-results/cart/test-failed-1.png",
            "artifacts/e2e/attempt-1/junit.xml",
            "artifacts/e2e/output.log",
        ],
    )
    files = task_files(task, links)
    assert files.log == Link("log", "../artifacts/e2e/output.log")
    assert files.shards == []
    assert files.others == [
        Link("attempt-1/junit.xml", "../artifacts/e2e/attempt-1/junit.xml"),
        Link(
            "attempt-1/test-results/cart/test-failed-1.png",
            "../artifacts/e2e/attempt-1/test-results/cart/test-failed-1.png",
        ),
    ]


def test_each_shard_of_a_split_task_links_its_own_log(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 22, tzinfo=UTC)
    task = task_entry(
        log="artifacts/e2e-1/output.log",
        artifacts=["artifacts/e2e-1/output.log", "artifacts/e2e-2/output.log"],
        segments=[
            SegmentEntry(
                label=f"e2e {index}/2",
                outcome=TaskOutcome.passed,
                started_at=moment,
                finished_at=moment,
                log=f"artifacts/e2e-{index}/output.log",
            )
            for index in (1, 2)
        ],
    )
    files = task_files(task, RunLinks.for_report(tmp_path, tmp_path / "reports" / "r.html"))
    assert [link.label for link in files.shards] == ["e2e 1/2 log", "e2e 2/2 log"]
    assert files.shards[1].href == "../artifacts/e2e-2/output.log"
    assert files.others == []


def test_a_file_outside_the_artifacts_folder_is_labelled_by_its_name() -> None:
    assert file_label("/srv/traces/trace.zip") == "trace.zip"
    assert file_label("artifacts/unit/output.log") == "output.log"


def test_the_page_links_every_task_log_from_where_it_will_be_written(tmp_path: Path) -> None:
    run_dir = sample_run(tmp_path / "runs")
    destination = tmp_path / "site" / "report.html"
    page = render_html(load_run(run_dir), destination=destination)
    bundle = load_run(run_dir)
    for task in bundle.manifest.tasks:
        if task.log:
            href = relative_href(destination.parent, run_dir / task.log)
            assert f'href="{href}"' in page
            assert opened(destination.parent, href).is_file()
    assert 'href="../artifacts/' not in page
