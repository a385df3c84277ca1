"""`qaagent init`: write a commented profile for the repository in the current folder."""

from __future__ import annotations

import configparser
import fnmatch
import json
import os
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from qaagent.errors import UsageError

PLAYWRIGHT_CONFIGS = ("playwright.config.ts", "playwright.config.js", "playwright.config.mjs")
PYTEST_CONFIG_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
INI_SECTIONS = {"pytest.ini": "pytest", ".pytest.ini": "pytest", "tox.ini": "pytest"}
DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
NOT_SEARCHED = frozenset({"node_modules", "venv", "build", "dist", "CVS", "_darcs", "{arch}"})


@dataclass(frozen=True)
class FoundSuite:
    """A suite `init` enables: its path, extra arguments, and why it chose them."""

    path: str
    args: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class PytestConfig:
    """What of pytest's own configuration decides which tests plain `pytest` collects."""

    file: str
    testpaths: tuple[str, ...] = ()
    python_files: tuple[str, ...] = DEFAULT_PYTHON_FILES
    doctest_modules: bool = False


def init(
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing qaagent.yaml.")
    ] = False,
) -> None:
    """Write a commented qaagent.yaml that enables the suites found in this folder."""
    root = Path.cwd()
    target = profile_target(root)
    if target.is_dir():
        raise UsageError(f"{target} is a folder; move it away to write the profile there.")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to overwrite it.")
    found = discover_suites(root)
    try:
        target.write_text(render_profile(root.name, found), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{target} cannot be written ({error.strerror}).") from None
    typer.echo(f"Wrote {target}.")
    for section, suite in found.items():
        because = f" ({suite.reason})" if suite.reason else ""
        typer.echo(f"  tests.{section}: {suite.path}{because}")
    if not found:
        typer.echo("  No test folders found; edit the file to add suites.")
    typer.echo("Check it with `qaagent validate`.")


def profile_target(root: Path) -> Path:
    """The profile already in `root`, else qaagent.yaml: a new one must not hide a .qaagent.yaml."""
    from qaagent.config.loader import PROFILE_NAMES

    for name in PROFILE_NAMES:
        candidate = root / name
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return root / PROFILE_NAMES[0]


def discover_suites(root: Path) -> dict[str, FoundSuite]:
    """pytest tests as pytest's own configuration finds them, behave features, Playwright tests."""
    found: dict[str, FoundSuite] = {}
    e2e = _e2e_folder(root)
    config = pytest_config(root)
    unit = _configured_unit(root, config) if config is not None else _guessed_unit(root)
    if unit is not None:
        found["unit"] = _without_e2e(unit, e2e, root)
    features = root / "features"
    if features.is_dir() and (features / "steps").is_dir():
        found["behave"] = FoundSuite("features")
    if e2e is not None:
        found["e2e"] = FoundSuite(e2e)
    return found


def _guessed_unit(root: Path) -> FoundSuite | None:
    """Without a pytest configuration: the first conventional folder holding test files."""
    for candidate in ("tests/unit", "tests", "test"):
        folder = root / candidate
        if folder.is_dir() and _has_test_files(folder, DEFAULT_PYTHON_FILES):
            return FoundSuite(candidate)
    return None


def _configured_unit(root: Path, config: PytestConfig) -> FoundSuite | None:
    """The folders plain `pytest` collects from: its testpaths, else the whole project.

    pytest reads testpaths only when given no path, so the first becomes the suite's path and the
    others its arguments; python_files and addopts still apply, as pytest reads them itself.
    """
    paths = _existing_testpaths(root, config.testpaths) or ["."]
    patterns = ("*.py",) if config.doctest_modules else config.python_files
    if not any(_has_test_files(root / path, patterns) for path in paths):
        return None
    reason = (
        f"testpaths of {config.file}" if config.testpaths else f"{config.file} sets no testpaths"
    )
    return FoundSuite(paths[0], tuple(paths[1:]), reason)


def _existing_testpaths(root: Path, testpaths: tuple[str, ...]) -> list[str]:
    """testpaths entries as pytest expands them: glob patterns, relative to the project."""
    return [match for entry in testpaths for match in _matches(root, entry)]


def _matches(root: Path, pattern: str) -> list[str]:
    """Existing paths a testpaths entry names, relative to `root`; none for one outside it."""
    try:
        return sorted(path.relative_to(root).as_posix() or "." for path in root.glob(pattern))
    except (ValueError, NotImplementedError):
        return []


def _without_e2e(unit: FoundSuite, e2e: str | None, root: Path) -> FoundSuite:
    """A pytest-playwright folder inside the unit suite's folders is left to the e2e suite."""
    if e2e is None or _has_playwright_config(root / e2e):
        return unit
    inside = any(
        (root / e2e).resolve().is_relative_to((root / path).resolve())
        for path in (unit.path, *unit.args)
    )
    if not inside:
        return unit
    return FoundSuite(unit.path, (*unit.args, f"--ignore={e2e}"), unit.reason)


def pytest_config(root: Path) -> PytestConfig | None:
    """pytest's configuration in `root`, found as pytest finds it: the first file that has one.

    pytest.ini counts even without a [pytest] section; pyproject.toml, tox.ini and setup.cfg
    count only with theirs. A file that cannot be read is passed over.
    """
    for name in PYTEST_CONFIG_FILES:
        options = _pytest_options(root / name)
        if options is not None:
            addopts = _words(options.get("addopts", ""))
            return PytestConfig(
                file=name,
                testpaths=tuple(_words(options.get("testpaths", ""))),
                python_files=tuple(_words(options.get("python_files", ""))) or DEFAULT_PYTHON_FILES,
                doctest_modules="--doctest-modules" in addopts,
            )
    return None


def _pytest_options(path: Path) -> dict[str, object] | None:
    """The pytest options of one configuration file, or None when it holds none."""
    if not path.is_file():
        return None
    try:
        if path.name == "pyproject.toml":
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            options = data.get("tool", {}).get("pytest", {}).get("ini_options")
            return options if isinstance(options, dict) else None
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, configparser.Error):
        return None
    section = INI_SECTIONS.get(path.name, "tool:pytest")
    if parser.has_section(section):
        return dict(parser.items(section))
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None


def _words(value: object) -> list[str]:
    """An option as pytest reads it: a TOML list as it is, a string split like a shell's."""
    if isinstance(value, list):
        return [str(item) for item in value]
    try:
        return shlex.split(str(value))
    except ValueError:
        return str(value).split()


def _e2e_folder(root: Path) -> str | None:
    """Where a Playwright config lives, else an e2e folder of pytest-playwright tests."""
    for candidate in ("e2e", "tests/e2e", "."):
        if _has_playwright_config(root / candidate):
            return candidate
    for candidate in ("e2e", "tests/e2e"):
        folder = root / candidate
        if folder.is_dir() and _has_test_files(folder, DEFAULT_PYTHON_FILES):
            return candidate
    return None


def _has_playwright_config(folder: Path) -> bool:
    return any((folder / name).exists() for name in PLAYWRIGHT_CONFIGS)


def _has_test_files(path: Path, patterns: tuple[str, ...]) -> bool:
    """Whether a file named like a test lies at or below `path`, outside what pytest skips."""
    if path.is_file():
        return any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
    for folder, subfolders, names in os.walk(path):
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith(".")
            and name not in NOT_SEARCHED
            and not (Path(folder) / name / "pyvenv.cfg").exists()
        ]
        if any(fnmatch.fnmatch(name, pattern) for name in names for pattern in patterns):
            return True
    return False


def render_profile(project: str, found: dict[str, FoundSuite]) -> str:
    """The profile text: every found suite enabled, the rest present but off, all commented."""

    def section(name: str, default: str, comment: str, extra: str = "") -> str:
        suite = found.get(name)
        enabled = "true" if suite is not None else "false"
        path = suite.path if suite is not None else default
        args = f"    args: {json.dumps(list(suite.args))}\n" if suite and suite.args else ""
        because = f" ({suite.reason})" if suite and suite.reason else ""
        return (
            f"  {name}:{' ' * (7 - len(name))}# {comment}{because}\n"
            f"    enabled: {enabled}\n    path: {json.dumps(path)}\n{args}{extra}"
        )

    e2e_runner = "    runner: auto       # playwright-node when a playwright.config.* exists\n"
    return (
        "# qaagent profile: `qaagent validate` checks it, `qaagent run-all` runs it.\n"
        "# Editor completion: `qaagent schema > .qaagent.schema.json`, then add the line\n"
        "# `# yaml-language-server: $schema=.qaagent.schema.json` at the top of this file.\n"
        f"project:\n  name: {json.dumps(project, ensure_ascii=False)}\n\n"
        "# app:                 # start the application before suites that need it\n"
        "#   local:\n"
        "#     base_url: http://127.0.0.1:8000\n"
        "#     start_command: python -m myapp\n"
        "#     health_endpoint: /health\n\n"
        "tests:\n"
        + section("unit", "tests", "pytest")
        + section("behave", "features", "behave BDD features")
        + section("e2e", "e2e", "Playwright end-to-end tests", e2e_runner)
        + "\n# suites:               # any other command that writes JUnit XML to $QAAGENT_JUNIT\n"
        "#   evals:\n"
        "#     kind: command\n"
        '#     command: ["python", "evals/run.py", "--junit", "$QAAGENT_JUNIT"]\n'
        "#     matrix: {model: [small, large]}\n\n"
        "run:\n"
        "  parallel: true        # run suites at the same time\n"
        "  max_workers: null     # default: one worker per task\n"
        "  retry_count: 1        # rerun only the failed tests, mark passes on retry as flaky\n"
        "  timeout: 900          # seconds per suite before it is killed\n"
        "  fail_fast: false\n"
    )
