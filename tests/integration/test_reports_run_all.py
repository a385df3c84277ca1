"""Reports of a real `qaagent run-all` of the report fixture: JUnit, summaries, HTML, history."""

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import xmlschema
from junitparser.xunit2 import JUnitXml
from playwright.sync_api import sync_playwright
from qaagent_process import environment
from qaagent_process import qaagent as run_qaagent

from qaagent.evidence import history
from qaagent.evidence.stored import load_run, resolve_run
from qaagent.reporting import write_reports

FIXTURE = Path(__file__).parents[1] / "fixtures" / "report_project"
XSD = Path(__file__).parents[1] / "fixtures" / "xsd" / "junit-10.xsd"
CHROMIUM = os.environ.get("QAAGENT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def qaagent(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """qaagent outside any CI system, whatever runs these tests."""
    outside = environment(drop=("CI", "GITHUB_"))
    return run_qaagent(*args, cwd=project, env=outside, timeout=120)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One parallel run of the fixture: a failure, a flaky retry, a skip and a timed-out task."""
    project = tmp_path_factory.mktemp("reports") / "project"
    shutil.copytree(FIXTURE, project)
    result = qaagent(project, "run-all", "--parallel", "--max-workers", "2")
    assert result.returncode == 3, result.stdout + result.stderr
    return resolve_run(project / ".qaagent" / "runs", "latest")


def test_merged_junit_of_a_real_run_is_valid_and_counts_match(run_dir: Path) -> None:
    (path,) = write_reports(run_dir, ["junit"], environ={})
    xmlschema.XMLSchema(XSD).validate(path)
    document = JUnitXml.fromfile(str(path))
    manifest = load_run(run_dir).manifest
    suites = {suite.name: suite for suite in document}
    assert list(suites) == ["unit", "checks", "stuck"]
    for task in manifest.tasks:
        assert suites[task.name].tests == task.counts.total
        assert suites[task.name].failures == task.counts.failed
        assert suites[task.name].errors == task.counts.errors
        assert suites[task.name].skipped == task.counts.skipped
    assert document.tests == manifest.counts.total
    cases = {case.name: case for suite in document for case in suite}
    assert cases["test_discount"].is_flaky and cases["test_discount"].is_passed
    assert cases["test_total"].is_failure and cases["test_total"].is_rerun
    assert cases["stuck"].is_error and cases["stuck"].result[0].type == "timed-out"
    assert (document.tests, document.failures, document.errors) == (7, 1, 1)


def test_summary_json_counts_agree_with_junit(run_dir: Path) -> None:
    (path,) = write_reports(run_dir, ["json"], environ={})
    summary = json.loads(path.read_text(encoding="utf-8"))
    assert summary["counts"] == {
        "total": 7,
        "passed": 3,
        "failed": 1,
        "errors": 1,
        "skipped": 1,
        "flaky": 1,
        "xfailed": 0,
        "xpassed": 0,
        "timed_out": 0,
        "interrupted": 0,
        "not_run": 0,
        "cost": None,
    }
    assert [(f["task"], f["test_id"], f["category"]) for f in summary["failures"]] == [
        ("unit", "tests/test_cart.py::test_total", "assertion"),
        ("stuck", None, "timeout"),
    ]
    assert summary["timings"]["parallelism"] > 1.0


def test_github_annotations_and_step_summary_of_a_real_run(run_dir: Path, tmp_path: Path) -> None:
    step_summary = tmp_path / "step-summary.md"
    out = io.StringIO()
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary)}
    write_reports(run_dir, ["md"], environ=environ, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("::error file=tests/test_cart.py,line=")
    assert (
        "title=unit%3A tests/test_cart.py%3A%3Atest_total (assertion)::assert 41 == 42" in lines[0]
    )
    assert lines[1] == "::error title=stuck%3A task stuck (timeout)::timed out after 2 s"
    assert "| stuck | ⏱️ timed out | 0 | 0 | 1 | 0 | 0 |" in step_summary.read_text(encoding="utf-8")


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no Chromium at {CHROMIUM}")
def test_html_report_of_a_real_run_renders_with_its_timeline(run_dir: Path, tmp_path: Path) -> None:
    (report,) = write_reports(run_dir, ["html"], environ={})
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda message: problems.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(report.as_uri())
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            bars = page.locator("#timeline .bar")
            assert sorted(
                bars.nth(index).get_attribute("data-task") or "" for index in range(bars.count())
            ) == [
                "checks",
                "stuck",
                "unit",
            ]
            assert page.locator("#timeline .lane").count() == 2
            assert "cart: <b>2 items</b> & more" in page.locator("#failures").inner_text()
            assert "waiting for a server" in page.locator("#failures").inner_text()
        finally:
            browser.close()
    assert problems == []


def test_history_of_a_real_run_gives_durations_and_last_failed(run_dir: Path) -> None:
    runs_dir = run_dir.parent
    history.record_run(runs_dir, run_dir)
    assert history.last_failed(runs_dir) == {
        "unit": ["tests/test_cart.py::test_total"],
        "stuck": [],
    }
    durations = history.task_durations(runs_dir)
    assert set(durations) == {"unit", "checks"}
    assert durations["checks"] > 0
    assert set(history.test_durations(runs_dir, "checks")) == {
        "checks/test_checks.py::test_slow_check",
        "checks/test_checks.py::test_quick_check",
    }
    assert [test.test_id for test in history.flaky_tests(runs_dir, 5)] == [
        "tests/test_cart.py::test_discount"
    ]


def test_last_failed_reruns_exactly_the_failed_node_ids(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    assert qaagent(project, "run-all").returncode == 3
    rerun = qaagent(project, "run-all", "--last-failed")
    assert rerun.returncode == 3, rerun.stdout + rerun.stderr
    bundle = load_run(resolve_run(project / ".qaagent" / "runs", "latest"))
    assert [task.name for task in bundle.manifest.tasks] == ["unit", "stuck"]
    assert [record.test_id for record in bundle.final_records("unit")] == [
        "tests/test_cart.py::test_total"
    ]
