"""The Playwright command lines: JUnit reporter, test lists of failures, the Chromium to launch."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from qaagent.model.outcomes import CaseStatus, TestCase
from qaagent.model.task import Task
from qaagent.tools.base import RunContext, ToolUnavailable
from qaagent.tools.playwright_tool import (
    LIVE_REPORTER,
    TEST_LIST_FILE,
    PlaywrightNodeAdapter,
    PlaywrightPythonAdapter,
    files_under,
    listed_test,
)
from qaagent.tools.pytest_tool import PLUGIN_DIR


def load_chromium_plugin() -> ModuleType:
    """The plugin as pytest loads it: a top-level module from the plugin folder."""
    spec = importlib.util.spec_from_file_location(
        "qaagent_chromium", PLUGIN_DIR / "qaagent_chromium.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chromium_plugin = load_chromium_plugin()
BROWSER = sys.executable  # any executable file stands in for the browser it would launch


def make_task(cwd: Path, path: Path | None, args: tuple[str, ...] = ()) -> Task:
    """A Playwright task as the plan would build it."""
    return Task(
        name="e2e",
        suite="e2e",
        kind="playwright-node",
        path=path,
        cwd=cwd,
        args=args,
        retry_count=1,
    )


def playwright_case(classname: str, name: str) -> TestCase:
    return TestCase(
        id=f"{classname}::{name}", classname=classname, name=name, status=CaseStatus.failed
    )


def node_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "playwright.config.ts").write_text("export default {};\n")
    return root


def test_first_attempt_uses_installed_playwright_and_junit_reporter(tmp_path: Path) -> None:
    project = node_project(tmp_path / "e2e")
    attempt = tmp_path / "attempt-1"
    context = RunContext(output_dir=tmp_path, chromium="/usr/bin/chromium")

    invocation = PlaywrightNodeAdapter().invocation(
        make_task(tmp_path, project, ("--workers=2",)), context, attempt, []
    )

    assert invocation.argv[:4] == ["npx", "--no-install", "playwright", "test"]
    assert f"--reporter=junit,line,{LIVE_REPORTER}" in invocation.argv
    assert LIVE_REPORTER.is_file()
    assert invocation.argv[invocation.argv.index("--output") + 1] == str(attempt / "test-results")
    assert invocation.argv[-1] == "--workers=2"
    assert invocation.cwd == project
    assert invocation.junit == attempt / "junit.xml"
    assert invocation.env["PLAYWRIGHT_JUNIT_OUTPUT_FILE"] == str(attempt / "junit.xml")
    assert invocation.env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] == "1"


def test_suite_folder_below_the_config_becomes_an_escaped_file_filter(tmp_path: Path) -> None:
    node_project(tmp_path)
    suite = tmp_path / "e2e" / "checkout+pay"
    suite.mkdir(parents=True)

    invocation = PlaywrightNodeAdapter().invocation(
        make_task(tmp_path, suite),
        RunContext(output_dir=tmp_path, chromium=BROWSER),
        tmp_path / "a",
        [],
    )

    assert invocation.cwd == tmp_path
    assert invocation.argv[4] == r"e2e/checkout\+pay"


def test_retry_lists_exactly_the_failed_tests(tmp_path: Path) -> None:
    project = node_project(tmp_path / "e2e")
    attempt = tmp_path / "attempt-2"
    failed = [
        playwright_case("shop.spec.ts", "fixture shop \u203a shows a heading"),
        playwright_case("nested/cart.spec.ts", "empties the cart"),
    ]

    invocation = PlaywrightNodeAdapter().invocation(
        make_task(tmp_path, project),
        RunContext(output_dir=tmp_path, chromium=BROWSER),
        attempt,
        failed,
    )

    test_list = attempt / TEST_LIST_FILE
    assert invocation.argv[4:6] == ["--test-list", str(test_list)]
    assert invocation.partial
    assert test_list.read_text(encoding="utf-8").splitlines() == [
        "shop.spec.ts \u203a fixture shop \u203a shows a heading",
        "nested/cart.spec.ts \u203a empties the cart",
    ]


def test_project_prefix_of_a_junit_name_leads_the_test_list_line() -> None:
    case = playwright_case("shop.spec.ts", "[chromium] fixture shop \u203a has its title")

    assert (
        listed_test(case)
        == "[chromium] \u203a shop.spec.ts \u203a fixture shop \u203a has its title"
    )


def test_exit_without_results_is_an_infrastructure_error_with_a_hint() -> None:
    adapter = PlaywrightNodeAdapter()

    reason = adapter.infrastructure_error(1, [])

    assert reason is not None
    assert "@playwright/test" in reason
    assert adapter.infrastructure_error(1, [playwright_case("a.spec.ts", "x")]) is None


def test_artifacts_are_visible_files_under_test_results(tmp_path: Path) -> None:
    results = tmp_path / "test-results"
    (results / "shop-fails").mkdir(parents=True)
    (results / "shop-fails" / "test-failed-1.png").write_bytes(b"png")
    (results / ".last-run.json").write_text("{}")
    (results / "shop-fails" / "outside").symlink_to(tmp_path)

    assert files_under(results) == [results / "shop-fails" / "test-failed-1.png"]


@pytest.mark.parametrize(("as_root", "sandbox"), [(True, True), (False, False)])
def test_chromium_launch_args_keep_project_args(as_root: bool, sandbox: bool) -> None:
    launch_args: dict[str, object] = {"headless": True, "args": ["--lang=de", "--disable-gpu"]}

    chromium_plugin.with_chromium(launch_args, "/usr/bin/chromium", running_as_root=as_root)

    assert launch_args["executable_path"] == "/usr/bin/chromium"
    assert launch_args["headless"] is True
    args = launch_args["args"]
    assert isinstance(args, list)
    assert args[0] == "--lang=de"
    assert args.count("--disable-gpu") == 1
    assert ("--no-sandbox" in args) is sandbox
    assert set(chromium_plugin.chromium_flags(as_root)) <= set(args)


def test_python_flavour_adds_browser_output_and_launch_plugin_to_pytest(tmp_path: Path) -> None:
    attempt = tmp_path / "attempt-1"
    task = make_task(tmp_path, tmp_path / "e2e", ("-x",))

    invocation = PlaywrightPythonAdapter().invocation(
        task, RunContext(output_dir=tmp_path, chromium=BROWSER), attempt, []
    )

    argv = invocation.argv
    assert argv[1:3] == ["-m", "pytest"]
    assert argv[argv.index("--output") + 1] == str(attempt / "test-results")
    assert argv[argv.index("--browser") + 1] == "chromium"
    assert argv[argv.index("--screenshot") + 1] == "only-on-failure"
    assert argv[-2:] == ["-p", "qaagent_chromium"]
    assert "-x" in argv
    assert f"--junitxml={attempt / 'junit.xml'}" in argv
    assert invocation.env["PYTHONPATH"].split(":")[0] == str(PLUGIN_DIR)
    assert invocation.env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] == "1"


def test_python_flavour_keeps_the_suites_browser_and_screenshot_choice(tmp_path: Path) -> None:
    task = make_task(tmp_path, None, ("--browser=firefox", "--screenshot", "on"))

    argv = (
        PlaywrightPythonAdapter()
        .invocation(task, RunContext(output_dir=tmp_path, chromium=BROWSER), tmp_path, [])
        .argv
    )

    assert argv.count("--browser") == 0
    assert argv.count("--screenshot") == 1
    assert "--output" in argv


def test_python_flavour_retry_selects_failed_node_ids(tmp_path: Path) -> None:
    attempt = tmp_path / "attempt-2"
    attempt.mkdir()
    failed = TestCase(
        id="test_shop.py::test_title[chromium]",
        name="test_title[chromium]",
        status=CaseStatus.failed,
        properties={"nodeid": "test_shop.py::test_title[chromium]"},
    )

    invocation = PlaywrightPythonAdapter().invocation(
        make_task(tmp_path, None),
        RunContext(output_dir=tmp_path, chromium=BROWSER),
        attempt,
        [failed],
    )

    selected = Path(invocation.env["QAAGENT_PYTEST_SELECT"]).read_text(encoding="utf-8")
    assert selected.splitlines() == ["test_shop.py::test_title[chromium]"]


class FakeConfig:
    """The one pytest.Config method the plugin calls."""

    def __init__(self, browsers: list[str] | None, channel: str | None = None) -> None:
        self.options = {"--browser": browsers, "--browser-channel": channel}

    def getoption(self, name: str, default: object = None) -> object:
        return self.options.get(name, default)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (FakeConfig(None), True),
        (FakeConfig(["chromium"]), True),
        (FakeConfig(["chromium", "firefox"]), False),
        (FakeConfig(["webkit"]), False),
        (FakeConfig(["chromium"], channel="chrome"), False),
    ],
)
def test_chromium_is_only_launched_for_plain_chromium(config: FakeConfig, expected: bool) -> None:
    assert chromium_plugin.only_chromium(config) is expected


def test_suite_command_replaces_npx(tmp_path: Path) -> None:
    task = make_task(tmp_path, node_project(tmp_path)).model_copy(
        update={"command": ("pnpm", "exec", "playwright", "test")}
    )

    argv = (
        PlaywrightNodeAdapter()
        .invocation(task, RunContext(output_dir=tmp_path, chromium=BROWSER), tmp_path, [])
        .argv
    )

    assert argv[:4] == ["pnpm", "exec", "playwright", "test"]


def test_python_flavour_usage_error_points_at_pytest_playwright() -> None:
    reason = PlaywrightPythonAdapter().infrastructure_error(4, [])

    assert reason is not None
    assert "pytest-playwright" in reason


def test_selected_tests_of_an_earlier_run_become_the_test_list(tmp_path: Path) -> None:
    project = node_project(tmp_path / "e2e")
    task = make_task(tmp_path, project).model_copy(
        update={"selected_tests": ("shop.spec.ts::fixture shop \u203a shows a heading",)}
    )

    invocation = PlaywrightNodeAdapter().invocation(
        task, RunContext(output_dir=tmp_path, chromium=BROWSER), tmp_path / "attempt-1", []
    )

    test_list = tmp_path / "attempt-1" / TEST_LIST_FILE
    assert invocation.argv[4:6] == ["--test-list", str(test_list)]
    assert test_list.read_text(encoding="utf-8") == (
        "shop.spec.ts \u203a fixture shop \u203a shows a heading\n"
    )
    assert not invocation.partial


def test_a_browser_suite_without_any_chromium_cannot_start(tmp_path: Path) -> None:
    task = make_task(tmp_path, None).model_copy(
        update={"env": {"PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "none")}}
    )
    context = RunContext(output_dir=tmp_path)
    with pytest.raises(ToolUnavailable, match="no Chromium for browser suites"):
        PlaywrightPythonAdapter().invocation(task, context, tmp_path / "a", [])
    (tmp_path / "none" / "chromium-1200").mkdir(parents=True)
    PlaywrightPythonAdapter().invocation(task, context, tmp_path / "a", [])


def test_a_chromium_that_is_not_an_executable_is_named(tmp_path: Path) -> None:
    context = RunContext(output_dir=tmp_path, chromium=str(tmp_path / "missing"))
    with pytest.raises(ToolUnavailable, match=r"missing, is not an executable file"):
        PlaywrightPythonAdapter().invocation(make_task(tmp_path, None), context, tmp_path, [])
