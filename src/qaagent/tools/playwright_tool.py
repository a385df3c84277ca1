"""How Playwright suites are invoked: @playwright/test through npx, or pytest with pytest-playwright.

Neither ever downloads a browser. When an executable is known (the profile or `QAAGENT_CHROMIUM`),
the runner exports it as `QAAGENT_CHROMIUM`: the pytest-playwright run loads the `qaagent_chromium`
plugin, which launches it, and a Node project's `playwright.config` reads it as
`launchOptions: { executablePath: process.env.QAAGENT_CHROMIUM }`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from qaagent.model.outcomes import CaseStatus, TestCase
from qaagent.model.task import Task
from qaagent.tools.attempts import AdapterDefaults
from qaagent.tools.base import Invocation, RunContext, ToolUnavailable
from qaagent.tools.pytest_tool import PytestAdapter

PLAYWRIGHT_CONFIGS = ("playwright.config.ts", "playwright.config.js", "playwright.config.mjs")
TEST_RESULTS = "test-results"
TEST_LIST_FILE = "failed-tests.txt"
TITLE_SEPARATOR = " \u203a "
PROJECT_PREFIX = re.compile(r"^\[(?P<project>[^\]]+)\] (?P<title>.*)$")
NO_DOWNLOAD_ENV = {"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
CHROMIUM_PLUGIN = "qaagent_chromium"
NPX_PLAYWRIGHT_TEST = ("npx", "--no-install", "playwright", "test")
LIVE_REPORTER = Path(__file__).parent / "playwright_reporter" / "qaagent-reporter.cjs"
PYTEST_USAGE_ERROR = 4


class PlaywrightPythonAdapter(PytestAdapter):
    """pytest with pytest-playwright: the pytest runner's node ids and retries, plus the browser."""

    modules = ("pytest", "pytest_playwright")

    def invocation(
        self, task: Task, context: RunContext, attempt_dir: Path, rerun: list[TestCase]
    ) -> Invocation:
        """pytest's invocation with Chromium, artifacts in the attempt folder, the launch plugin."""
        browser_task = task.model_copy(
            update={
                "args": (*task.args, *browser_options((*task.args, *task.cli_args), attempt_dir))
            }
        )
        invocation = super().invocation(browser_task, context, attempt_dir, rerun)
        if not given((*task.args, *task.cli_args), "--browser"):
            require_chromium(context, task, invocation.argv)
        return dataclasses.replace(
            invocation,
            argv=[*invocation.argv, "-p", CHROMIUM_PLUGIN],
            env={**invocation.env, **NO_DOWNLOAD_ENV},
        )

    def infrastructure_error(self, exit_code: int, cases: list[TestCase]) -> str | None:
        """pytest's reasons; a usage error here most often means pytest-playwright is missing."""
        reason = super().infrastructure_error(exit_code, cases)
        if exit_code == PYTEST_USAGE_ERROR:
            return f"{reason}: is pytest-playwright installed for this interpreter?"
        return reason

    def artifacts(self, attempt_dir: Path, invocation: Invocation) -> list[Path]:
        """Screenshots, traces and videos pytest-playwright kept under the attempt's folder."""
        return files_under(attempt_dir / TEST_RESULTS)


def require_chromium(context: RunContext, task: Task, argv: list[str]) -> None:
    """Raise ToolUnavailable when the suite has no browser to launch, before it starts.

    Without it every test would fail on the launch; one infrastructure error names the problem.
    """
    if context.chromium is not None:
        if not os.access(context.chromium, os.X_OK) or Path(context.chromium).is_dir():
            raise ToolUnavailable(
                f"the Chromium given for browser suites, {context.chromium}, is not an "
                "executable file; fix --chromium or QAAGENT_CHROMIUM",
                argv,
            )
        return
    environ = {**os.environ, **context.env, **task.env}
    if not playwright_chromium_installed(environ):
        raise ToolUnavailable(
            "no Chromium for browser suites: none at /usr/bin/chromium or on PATH, no "
            "QAAGENT_CHROMIUM or --chromium, and no Playwright-installed Chromium; install one "
            "(scripts/ensure-chromium.sh, or playwright install chromium) or point "
            "QAAGENT_CHROMIUM at it",
            argv,
        )


def playwright_chromium_installed(environ: Mapping[str, str]) -> bool:
    """Whether `playwright install` left a Chromium where Playwright looks for its browsers."""
    location = environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if location == "0":
        return True
    folder = Path(location) if location else playwright_cache(environ)
    try:
        return any(entry.name.startswith("chromium") for entry in folder.iterdir())
    except OSError:
        return False


def playwright_cache(environ: Mapping[str, str]) -> Path:
    """Playwright's default browser folder on this system."""
    home = Path(environ.get("HOME") or Path.home())
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "ms-playwright"
    if sys.platform == "win32":
        return Path(environ.get("LOCALAPPDATA") or home) / "ms-playwright"
    return Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / "ms-playwright"


def browser_options(args: tuple[str, ...], attempt_dir: Path) -> list[str]:
    """Chromium and screenshots of failures unless the suite chose otherwise; output always ours."""
    options = ["--output", str(attempt_dir / TEST_RESULTS)]
    if not given(args, "--browser"):
        options += ["--browser", "chromium"]
    if not given(args, "--screenshot"):
        options += ["--screenshot", "only-on-failure"]
    return options


def given(args: tuple[str, ...], option: str) -> bool:
    """Whether `option` appears in args, as `--option value` or `--option=value`."""
    return any(arg == option or arg.startswith(f"{option}=") for arg in args)


class PlaywrightNodeAdapter(AdapterDefaults):
    """`npx playwright test` (or the suite's command) with the JUnit, line and live-feed reporters.

    A retry runs a `--test-list` of the failures: it names tests by file and titles, so it needs
    nothing from the earlier attempt's folder, unlike `--last-failed` and its `.last-run.json`.
    """

    def invocation(
        self, task: Task, context: RunContext, attempt_dir: Path, rerun: list[TestCase]
    ) -> Invocation:
        """The suite's tests, or the selected ones; a retry: exactly the failed tests, in a file."""
        project_dir = node_project_dir(task)
        junit = attempt_dir / "junit.xml"
        listed = rerun or [case_of_id(test_id) for test_id in task.selected_tests]
        selection = (
            ["--test-list", str(write_test_list(listed, attempt_dir / TEST_LIST_FILE))]
            if listed
            else path_filter(task, project_dir)
        )
        argv = [
            *(task.command or NPX_PLAYWRIGHT_TEST),
            *selection,
            f"--reporter=junit,line,{LIVE_REPORTER}",
            "--output",
            str(attempt_dir / TEST_RESULTS),
            *task.args,
            *task.cli_args,
        ]
        require_chromium(context, task, argv)
        env = {**NO_DOWNLOAD_ENV, "PLAYWRIGHT_JUNIT_OUTPUT_FILE": str(junit)}
        notes = (
            [] if playwright_test_installed(project_dir) else [missing_package_note(project_dir)]
        )
        return Invocation(
            argv=argv, cwd=project_dir, env=env, junit=junit, notes=notes, partial=bool(rerun)
        )

    def infrastructure_error(self, exit_code: int, cases: list[TestCase]) -> str | None:
        """Playwright exits 1 for failed tests too, so only a run without any result is suspect."""
        if exit_code != 0 and not cases:
            return (
                f"playwright test exited {exit_code} without test results: either "
                "@playwright/test is not installed in the project (run npm ci there) or no "
                "test matched; the log says which"
            )
        return None

    def artifacts(self, attempt_dir: Path, invocation: Invocation) -> list[Path]:
        """Screenshots, traces, videos and error contexts under the attempt's test-results."""
        return files_under(attempt_dir / TEST_RESULTS)


def node_project_dir(task: Task) -> Path:
    """The folder holding playwright.config: the suite path when it has one, else the suite's cwd."""
    if task.path is not None and task.path.is_dir() and has_playwright_config(task.path):
        return task.path
    return task.cwd


def playwright_test_installed(project_dir: Path) -> bool:
    """Whether Node would resolve @playwright/test from the project, as npx does."""
    return any(
        (folder / "node_modules" / "@playwright" / "test" / "package.json").is_file()
        for folder in (project_dir, *project_dir.parents)
    )


def missing_package_note(project_dir: Path) -> str:
    """The reason npx is about to fail, said before it does; it never downloads packages here."""
    return (
        f"@playwright/test is not installed in {project_dir} or a folder above it; "
        "run npm ci (or npm install) there"
    )


def has_playwright_config(folder: Path) -> bool:
    """Whether `folder` is a Playwright Test project root."""
    return any((folder / name).is_file() for name in PLAYWRIGHT_CONFIGS)


def path_filter(task: Task, project_dir: Path) -> list[str]:
    """A file filter for a suite path below the project; Playwright reads filters as regexes."""
    if task.path is None or task.path == project_dir:
        return []
    try:
        shown = task.path.relative_to(project_dir).as_posix()
    except ValueError:
        shown = task.path.as_posix()
    return [re.escape(shown)]


def case_of_id(test_id: str) -> TestCase:
    """A test named by its id, `classname::name`, as an earlier run recorded it."""
    classname, _, name = test_id.partition("::")
    return TestCase(id=test_id, classname=classname, name=name, status=CaseStatus.failed)


def write_test_list(cases: list[TestCase], target: Path) -> Path:
    """One line per test in the format of `playwright test --test-list`: file, then titles."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{listed_test(case)}\n" for case in cases), encoding="utf-8")
    return target


def listed_test(case: TestCase) -> str:
    """Playwright's JUnit classname is the file below testDir, the name its titles joined by U+203A.

    A name that starts with `[project] ` (reporter option includeProjectInTestName) names the
    project, which the test list puts first.
    """
    match = PROJECT_PREFIX.match(case.name)
    if match is None:
        return f"{case.classname}{TITLE_SEPARATOR}{case.name}"
    project, title = match["project"], match["title"]
    return f"[{project}]{TITLE_SEPARATOR}{case.classname}{TITLE_SEPARATOR}{title}"


def files_under(folder: Path) -> list[Path]:
    """Every regular, visible file below `folder` in a stable order; symlinks are not followed.

    Hidden files are bookkeeping, such as Playwright's `.last-run.json`.
    """
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and not path.name.startswith(".")
    )
