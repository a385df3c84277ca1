"""`qaagent init`: write a commented profile for the repository in the current folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from qaagent.errors import UsageError

PLAYWRIGHT_CONFIGS = ("playwright.config.ts", "playwright.config.js", "playwright.config.mjs")


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
    for section, path in found.items():
        typer.echo(f"  tests.{section}: {path}")
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


def discover_suites(root: Path) -> dict[str, str]:
    """Folders of pytest tests, behave features with steps, and Playwright tests under `root`."""
    found: dict[str, str] = {}
    for candidate in ("tests/unit", "tests", "test"):
        folder = root / candidate
        if folder.is_dir() and _has_pytest_files(folder):
            found["unit"] = candidate
            break
    features = root / "features"
    if features.is_dir() and (features / "steps").is_dir():
        found["behave"] = "features"
    e2e = _e2e_folder(root)
    if e2e is not None:
        found["e2e"] = e2e
    return found


def _e2e_folder(root: Path) -> str | None:
    """Where a Playwright config lives, else an e2e folder of pytest-playwright tests."""
    for candidate in ("e2e", "tests/e2e", "."):
        if any((root / candidate / name).exists() for name in PLAYWRIGHT_CONFIGS):
            return candidate
    for candidate in ("e2e", "tests/e2e"):
        folder = root / candidate
        if folder.is_dir() and _has_pytest_files(folder):
            return candidate
    return None


def _has_pytest_files(folder: Path) -> bool:
    return any(folder.rglob("test_*.py")) or any(folder.rglob("*_test.py"))


def render_profile(project: str, found: dict[str, str]) -> str:
    """The profile text: every found suite enabled, the rest present but off, all commented."""

    def section(name: str, default: str, comment: str, extra: str = "") -> str:
        enabled = "true" if name in found else "false"
        path = found.get(name, default)
        return f"  {name}:{' ' * (7 - len(name))}# {comment}\n    enabled: {enabled}\n    path: {path}\n{extra}"

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
