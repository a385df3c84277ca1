"""pytest-playwright and @playwright/test run for real in an installed Chromium against a local page."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import psutil
import pytest
from test_run_all import checked_manifest, records, run_all, run_dirs

from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome
from qaagent.model.results import Attempt, TaskResult
from qaagent.model.task import SuiteKind, Task
from qaagent.tools.base import RunContext
from qaagent.tools.registry import runner_for

FIXTURES = Path(__file__).parents[1] / "fixtures"
SITE = FIXTURES / "site"
PYTHON_PROJECT = FIXTURES / "playwright_python_project"
NODE_PROJECT = FIXTURES / "playwright_node_project"
PYTEST_SUMMARY = re.compile(r"^=+ (.*\d+ (?:passed|failed|skipped).*) in [\d.]+s.* =+$", re.M)
PYTEST_PART = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")
LINE_REPORTER_PART = re.compile(r"^  (\d+) (passed|failed|skipped|flaky|interrupted)\b", re.M)
ATTEMPT_HEADER = re.compile(r"^=== qaagent attempt \d+ ", re.M)
RUN_MARKER = "QAAGENT_TEST_RUN"


def find_chromium() -> str | None:
    """The Chromium the runners are given: QAAGENT_CHROMIUM, else one on PATH."""
    named = os.environ.get("QAAGENT_CHROMIUM")
    if named:
        return named
    candidates = ("chromium", "chromium-browser", "google-chrome")
    return next((found for name in candidates if (found := shutil.which(name))), None)


CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium executable (set QAAGENT_CHROMIUM or install chromium)"
    ),
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The fixture site, served on 127.0.0.1 at a port the server picked and printed."""
    server = subprocess.Popen(
        [sys.executable, str(SITE / "serve.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Installed packages of the Node fixture: those `.ci/run` installed, else installed once here."""
    installed = NODE_PROJECT / "node_modules"
    if installed.is_dir():
        return installed
    project = tmp_path_factory.mktemp("node-packages")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(NODE_PROJECT / name, project / name)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=project,
        env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        check=True,
        timeout=300,
    )
    return project / "node_modules"


def copy_project(source: Path, target: Path) -> Path:
    """A copy of a fixture project without its installed packages."""
    return Path(shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules")))


def make_task(
    kind: SuiteKind, project: Path, tmp_path: Path, retry_count: int = 0, **env: str
) -> Task:
    """A Playwright suite of a copied fixture project, its processes marked with tmp_path."""
    return Task(
        name=kind,
        suite="e2e",
        kind=kind,
        path=project,
        cwd=project,
        env={RUN_MARKER: str(tmp_path), "QAAGENT_FLAKY_MARKER": str(tmp_path / "marker"), **env},
        timeout=180,
        retry_count=retry_count,
    )


def run_task(task: Task, tmp_path: Path, base_url: str) -> TaskResult:
    context = RunContext(output_dir=tmp_path / "out", env={"BASE_URL": base_url}, chromium=CHROMIUM)
    return runner_for(task.kind).run(task, context)


def attempt_logs(result: TaskResult) -> list[str]:
    """The shared log cut into one piece per attempt."""
    assert result.log_path is not None
    log = result.log_path.read_text(encoding="utf-8", errors="replace")
    return ATTEMPT_HEADER.split(log)[1:]


def pytest_summary(log: str) -> Counts:
    """pytest's final `== 2 failed, 2 passed, 1 skipped in 3.1s ==` line as counts."""
    [line] = PYTEST_SUMMARY.findall(log)
    found = {status.rstrip("s"): int(count) for count, status in PYTEST_PART.findall(line)}
    return Counts(
        passed=found.get("passed", 0),
        failed=found.get("failed", 0),
        errors=found.get("error", 0),
        skipped=found.get("skipped", 0),
        xfailed=found.get("xfailed", 0),
        xpassed=found.get("xpassed", 0),
    )


def line_reporter_summary(log: str) -> Counts:
    """The line reporter's closing `  2 failed` / `  1 skipped` / `  2 passed (6s)` lines."""
    found = {status: int(count) for count, status in LINE_REPORTER_PART.findall(log)}
    return Counts(
        passed=found.get("passed", 0),
        failed=found.get("failed", 0) + found.get("interrupted", 0),
        skipped=found.get("skipped", 0),
        flaky=found.get("flaky", 0),
    )


def processes_of_run(tmp_path: Path) -> list[str]:
    """Live processes started for this test: their environment carries its marker.

    Browsers inherit the environment of the tool that launched them, so this finds every
    Chromium process (browser, zygote, renderers) however deep in the tree it was started.
    """
    found = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            if process.environ().get(RUN_MARKER) == str(tmp_path):
                found.append(f"{process.info['pid']} {process.info['name']}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def screenshots(result: TaskResult) -> list[Path]:
    return [path for path in result.artifacts if path.suffix == ".png"]


def failed_names(attempt: Attempt) -> set[str]:
    return {
        case.name for case in attempt.cases if case.status in (CaseStatus.failed, CaseStatus.error)
    }


def test_pytest_playwright_counts_equal_pytests_summary(tmp_path: Path, base_url: str) -> None:
    project = copy_project(PYTHON_PROJECT, tmp_path / "project")

    result = run_task(make_task("playwright-python", project, tmp_path), tmp_path, base_url)

    [log] = attempt_logs(result)
    assert result.counts == pytest_summary(log)
    assert result.counts == Counts(passed=2, failed=2, skipped=1)
    assert result.outcome is TaskOutcome.failed
    assert processes_of_run(tmp_path) == []


def test_pytest_playwright_keeps_screenshots_of_failures(tmp_path: Path, base_url: str) -> None:
    project = copy_project(PYTHON_PROJECT, tmp_path / "project")

    result = run_task(make_task("playwright-python", project, tmp_path), tmp_path, base_url)

    shots = screenshots(result)
    assert {path.parent.name for path in shots} == {
        "test-shop-py-test-heading-is-wrong-chromium",
        "test-shop-py-test-passes-on-second-run-chromium",
    }
    assert all(path.is_file() and path.stat().st_size > 0 for path in shots)
    assert all(path.is_relative_to(tmp_path / "out" / "attempt-1") for path in shots)


def test_pytest_playwright_retry_reruns_failures_and_marks_flaky(
    tmp_path: Path, base_url: str
) -> None:
    project = copy_project(PYTHON_PROJECT, tmp_path / "project")

    result = run_task(
        make_task("playwright-python", project, tmp_path, retry_count=1), tmp_path, base_url
    )

    first, retry = result.attempts
    assert {case.name for case in retry.cases} == failed_names(first)
    assert [case.name for case in result.cases if case.flaky] == [
        "test_passes_on_second_run[chromium]"
    ]
    assert result.counts == Counts(passed=2, failed=1, skipped=1, flaky=1)
    assert pytest_summary(attempt_logs(result)[1]) == Counts(passed=1, failed=1)
    assert processes_of_run(tmp_path) == []


def test_playwright_test_counts_equal_line_reporter_summary(
    tmp_path: Path, base_url: str, node_modules: Path
) -> None:
    project = copy_project(NODE_PROJECT, tmp_path / "project")
    (project / "node_modules").symlink_to(node_modules)

    result = run_task(make_task("playwright-node", project, tmp_path), tmp_path, base_url)

    [log] = attempt_logs(result)
    assert result.counts == line_reporter_summary(log)
    assert result.counts == Counts(passed=2, failed=2, skipped=1)
    assert result.outcome is TaskOutcome.failed
    assert {path.parent.name for path in screenshots(result)} == {
        "shop-fixture-shop-shows-a-heading-it-does-not-have",
        "shop-fixture-shop-passes-on-the-second-run",
    }
    assert all(path.is_file() for path in result.artifacts)
    assert processes_of_run(tmp_path) == []


def test_playwright_test_failures_are_located_at_the_failing_line_of_the_spec(
    tmp_path: Path, base_url: str, node_modules: Path
) -> None:
    project = copy_project(NODE_PROJECT, tmp_path / "project")
    (project / "node_modules").symlink_to(node_modules)

    result = run_task(make_task("playwright-node", project, tmp_path), tmp_path, base_url)

    spec = project / "tests" / "shop.spec.ts"
    lines = spec.read_text(encoding="utf-8").splitlines()
    located = {case.name: (case.file, case.line) for case in result.cases}
    assert located["fixture shop \u203a shows a heading it does not have"] == (
        str(spec),
        next(n for n, line in enumerate(lines, 1) if '"Another shop"' in line),
    )
    assert located["fixture shop \u203a passes on the second run"] == (
        str(spec),
        next(n for n, line in enumerate(lines, 1) if "first run fails on purpose" in line),
    )
    assert processes_of_run(tmp_path) == []


def test_playwright_test_retry_runs_the_test_list_and_marks_flaky(
    tmp_path: Path, base_url: str, node_modules: Path
) -> None:
    project = copy_project(NODE_PROJECT, tmp_path / "project")
    (project / "node_modules").symlink_to(node_modules)

    result = run_task(
        make_task("playwright-node", project, tmp_path, retry_count=2), tmp_path, base_url
    )

    first, second, third = result.attempts
    assert {case.name for case in second.cases} == failed_names(first)
    assert [case.name for case in third.cases] == [
        "fixture shop \u203a shows a heading it does not have"
    ]
    assert [case.name for case in result.cases if case.flaky] == [
        "fixture shop \u203a passes on the second run"
    ]
    assert result.counts == Counts(passed=2, failed=1, skipped=1, flaky=1)
    assert line_reporter_summary(attempt_logs(result)[1]) == Counts(passed=1, failed=1)
    assert processes_of_run(tmp_path) == []


def test_playwright_test_without_its_package_is_an_error_with_a_reason(
    tmp_path: Path, base_url: str
) -> None:
    project = copy_project(NODE_PROJECT, tmp_path / "project")

    result = run_task(make_task("playwright-node", project, tmp_path), tmp_path, base_url)

    assert result.outcome is TaskOutcome.error
    assert result.error is not None
    assert "@playwright/test is not installed" in result.error
    assert result.log_path is not None
    log = result.log_path.read_text(encoding="utf-8")
    assert f"@playwright/test is not installed in {project}" in log


def test_missing_npx_is_an_error_with_a_reason(tmp_path: Path, base_url: str) -> None:
    project = copy_project(NODE_PROJECT, tmp_path / "project")
    no_tools = tmp_path / "empty-bin"
    no_tools.mkdir()
    task = make_task("playwright-node", project, tmp_path, PATH=str(no_tools))

    result = run_task(task, tmp_path, base_url)

    assert result.outcome is TaskOutcome.error
    assert result.error is not None
    assert "npx" in result.error


HANGING_PYTHON_TEST = """
import os
from pathlib import Path


def test_hangs(page):
    page.goto(os.environ["BASE_URL"] + "/index.html")
    Path(os.environ["PAGE_OPEN_MARKER"]).touch()
    page.wait_for_timeout(600_000)
"""

HANGING_NODE_TEST = """
import { writeFileSync } from "node:fs";
import { test } from "@playwright/test";

test("hangs", async ({ page }) => {
  test.setTimeout(0);
  await page.goto("/index.html");
  writeFileSync(process.env.PAGE_OPEN_MARKER ?? "", "");
  await page.waitForTimeout(600_000);
});
"""


def hanging_task(kind: SuiteKind, project: Path, test_file: Path, tmp_path: Path) -> Task:
    """Only the hanging test, with a timeout; it leaves a marker once its page is open."""
    task = make_task(kind, project, tmp_path, PAGE_OPEN_MARKER=str(tmp_path / "page-open"))
    return task.model_copy(update={"path": test_file, "timeout": 30})


def test_pytest_playwright_timeout_leaves_no_browser(tmp_path: Path, base_url: str) -> None:
    project = copy_project(PYTHON_PROJECT, tmp_path / "project")
    (project / "test_hang.py").write_text(HANGING_PYTHON_TEST, encoding="utf-8")
    task = hanging_task("playwright-python", project, project / "test_hang.py", tmp_path)

    result = run_task(task, tmp_path, base_url)

    assert result.outcome is TaskOutcome.timed_out
    assert (tmp_path / "page-open").exists(), "the browser had not opened the page by the timeout"
    assert not (tmp_path / "marker").exists(), "tests other than the hanging one ran"
    assert processes_of_run(tmp_path) == []


def test_playwright_test_timeout_leaves_no_browser(
    tmp_path: Path, base_url: str, node_modules: Path
) -> None:
    project = copy_project(NODE_PROJECT, tmp_path / "project")
    (project / "node_modules").symlink_to(node_modules)
    (project / "tests" / "hang.spec.ts").write_text(HANGING_NODE_TEST, encoding="utf-8")
    task = hanging_task("playwright-node", project, project / "tests" / "hang.spec.ts", tmp_path)

    result = run_task(task, tmp_path, base_url)

    assert result.outcome is TaskOutcome.timed_out
    assert (tmp_path / "page-open").exists(), "the browser had not opened the page by the timeout"
    assert not (tmp_path / "marker").exists(), "tests other than the hanging one ran"
    assert processes_of_run(tmp_path) == []


def test_pytest_without_pytest_playwright_is_an_error_with_a_reason(
    tmp_path: Path, base_url: str
) -> None:
    project = copy_project(PYTHON_PROJECT, tmp_path / "project")
    without_plugin = (sys.executable, "-m", "pytest", "-p", "no:playwright")
    task = make_task("playwright-python", project, tmp_path).model_copy(
        update={"command": without_plugin}
    )

    result = run_task(task, tmp_path, base_url)

    assert result.outcome is TaskOutcome.error
    assert result.error is not None
    assert "pytest-playwright" in result.error


def test_playwright_test_runs_only_the_selected_tests(
    tmp_path: Path, base_url: str, node_modules: Path
) -> None:
    project = copy_project(NODE_PROJECT, tmp_path / "project")
    (project / "node_modules").symlink_to(node_modules)
    selected = ("shop.spec.ts::fixture shop \u203a adds to the basket",)
    task = make_task("playwright-node", project, tmp_path).model_copy(
        update={"selected_tests": selected}
    )

    result = run_task(task, tmp_path, base_url)

    assert [case.id for case in result.cases] == list(selected)
    assert result.outcome is TaskOutcome.passed


def split_profile(project: Path, base_url: str, tmp_path: Path, args: list[str]) -> None:
    """A profile with only the Playwright Test suite, split in two, against the fixture site."""
    suite = {
        "kind": "playwright-node",
        "path": "tests",
        "split": 2,
        "args": args,
        "env": {RUN_MARKER: str(tmp_path), "QAAGENT_FLAKY_MARKER": str(tmp_path / "marker")},
    }
    profile = {
        "tests": {name: {"enabled": False} for name in ("unit", "behave", "e2e")},
        "suites": {"shop": suite},
        "app": {"local": {"base_url": base_url}},
        "run": {"parallel": True, "max_workers": 2},
    }
    (project / "qaagent.yaml").write_text(json.dumps(profile), encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "shards_with_tests"), [([], 1), (["--fully-parallel"], 2)], ids=["by-file", "by-test"]
)
def test_a_split_playwright_test_suite_merges_into_the_unsplit_counts(
    tmp_path: Path, base_url: str, node_modules: Path, args: list[str], shards_with_tests: int
) -> None:
    project = copy_project(NODE_PROJECT, tmp_path / "project")
    (project / "node_modules").symlink_to(node_modules)
    split_profile(project, base_url, tmp_path, args)

    completed = run_all(project, "--chromium", CHROMIUM or "chromium")

    assert completed.returncode == 1, completed.stdout + completed.stderr
    run_dir = run_dirs(project)[-1]
    manifest = checked_manifest(run_dir)
    [task] = manifest.tasks
    assert task.outcome is TaskOutcome.failed
    assert task.counts == Counts(passed=2, failed=2, skipped=1)
    assert [segment.label for segment in task.segments] == ["shop[shard=1/2]", "shop[shard=2/2]"]
    ran = [record.test_id for record in records(run_dir)]
    assert len(ran) == len(set(ran)) == 5
    tests_per_shard = [junit_tests(run_dir / junit) for junit in task.junit]
    assert sum(1 for count in tests_per_shard if count) == shards_with_tests
    assert processes_of_run(tmp_path) == []


def junit_tests(path: Path) -> int:
    """How many test cases a JUnit file holds."""
    return sum(1 for _ in ElementTree.parse(path).iter("testcase"))
