"""`qaagent list`: the tests each selected suite would run, as its own tool lists them."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qaagent.commands import ConfigOption, SkipOption, SuiteOption, setup_logging

if TYPE_CHECKING:
    from qaagent.model.task import Task
    from qaagent.secrets import SecretValues

UNLISTABLE_KINDS = frozenset({"command"})
LISTING_HEADER = "Listing tests:"
LISTING_TOTAL = "Total:"


@dataclass
class Listing:
    """What one task would run, or why its tool could not say."""

    task: str
    kind: str
    tests: list[str] = field(default_factory=list)
    error: str | None = None
    listable: bool = True

    @property
    def count(self) -> int:
        """How many tests the tool listed."""
        return len(self.tests)


def list_tests(
    ctx: typer.Context,
    config: ConfigOption = None,
    suite: SuiteOption = None,
    skip: SkipOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the listing as JSON on stdout.")
    ] = False,
) -> None:
    """List the tests each selected suite would run; arguments after `--` narrow them as in run-all.

    pytest suites list their node ids, behave suites their scenarios, Playwright Test suites their
    tests; command suites cannot be listed. Exit codes: 0 listed, 2 configuration or usage error,
    3 a suite's tests could not be listed.
    """
    from qaagent.config.loader import load_profile
    from qaagent.errors import ExitCode
    from qaagent.execute.app import app_env, choose_environment
    from qaagent.plan.select import plan_tasks, with_cli_args
    from qaagent.plan.tasks import build_tasks
    from qaagent.session import run_secrets

    setup_logging()
    loaded = load_profile(config)
    tasks = with_cli_args(plan_tasks(build_tasks(loaded.suites), suite or [], skip or []), ctx.args)
    environment = choose_environment(loaded, None)
    env = app_env(loaded, environment)
    secrets = run_secrets(loaded, tasks, environment)
    listings = [masked(listing_of(task, env, secrets), secrets) for task in tasks]
    if json_output:
        typer.echo(json.dumps({"tasks": [listing_data(listing) for listing in listings]}, indent=2))
    else:
        typer.echo(listing_text(listings), nl=False)
    failed = [listing.task for listing in listings if listing.error is not None]
    if failed:
        typer.echo(
            f"qaagent: error: the tests of {', '.join(failed)} could not be listed (exit code 3).",
            err=True,
        )
        raise typer.Exit(int(ExitCode.INFRASTRUCTURE_ERROR))


def listing_of(task: Task, env: Mapping[str, str], secrets: SecretValues) -> Listing:
    """Ask the suite's tool which tests it would run."""
    if task.kind in UNLISTABLE_KINDS:
        return Listing(task.name, task.kind, listable=False)
    if task.kind == "behave":
        return behave_listing(task, env, secrets)
    if task.kind == "playwright-node":
        return playwright_node_listing(task, env, secrets)
    return pytest_listing(task, env)


def pytest_listing(task: Task, env: Mapping[str, str]) -> Listing:
    """Node ids from the same collection that splitting a suite uses."""
    from qaagent.plan.split import CollectionError, collect_tests

    try:
        tests = collect_tests(task, env)
    except CollectionError as error:
        return Listing(task.name, task.kind, error=str(error))
    return Listing(task.name, task.kind, [test.node_id for test in tests])


def behave_listing(task: Task, env: Mapping[str, str], secrets: SecretValues) -> Listing:
    """Scenarios from the dry run that selecting scenarios by location uses."""
    from qaagent.tools.attempts import expand_argv, tool_environment
    from qaagent.tools.base import RunContext
    from qaagent.tools.behave_scenarios import (
        SCENARIO,
        SCENARIOS_FILE,
        SCENARIOS_LOG,
        dry_run_argv,
        list_scenarios,
    )
    from qaagent.tools.behave_tool import behave_command, feature_paths

    with tempfile.TemporaryDirectory(prefix="qaagent-list-") as folder:
        context = RunContext(output_dir=Path(folder), env=env, secrets=secrets)
        tool_env = tool_environment(task, context)
        dry_run = dry_run_argv(
            behave_command(task), feature_paths(task), Path(folder) / SCENARIOS_FILE
        )
        argv = expand_argv([*dry_run, *task.args, *task.cli_args], tool_env)
        features, problem = list_scenarios(task, context, argv, tool_env, Path(folder))
        log = log_tail(Path(folder) / SCENARIOS_LOG)
    if features is None:
        return Listing(task.name, task.kind, error=f"behave --dry-run failed: {problem}{log}")
    tests = [
        f"{element.location}: {element.name.strip()}"
        for feature in features
        for element in feature.elements
        if element.type == SCENARIO
    ]
    return Listing(task.name, task.kind, tests)


def playwright_node_listing(task: Task, env: Mapping[str, str], secrets: SecretValues) -> Listing:
    """`playwright test --list`, with the suite's filter and arguments, in its project folder."""
    from qaagent.plan.split import COLLECT_TIMEOUT
    from qaagent.processes.run import run_process
    from qaagent.tools.attempts import expand_argv, tool_environment
    from qaagent.tools.base import RunContext
    from qaagent.tools.playwright_tool import (
        NO_DOWNLOAD_ENV,
        NPX_PLAYWRIGHT_TEST,
        node_project_dir,
        path_filter,
    )

    project_dir = node_project_dir(task)
    with tempfile.TemporaryDirectory(prefix="qaagent-list-") as folder:
        context = RunContext(output_dir=Path(folder), env=env, secrets=secrets)
        tool_env = {**tool_environment(task, context), **NO_DOWNLOAD_ENV}
        argv = [
            *(task.command or NPX_PLAYWRIGHT_TEST),
            *path_filter(task, project_dir),
            "--list",
            "--reporter=list",
            *task.args,
            *task.cli_args,
        ]
        log_path = Path(folder) / "list.log"
        result = run_process(
            expand_argv(argv, tool_env),
            cwd=project_dir,
            env=tool_env,
            log_path=log_path,
            timeout=COLLECT_TIMEOUT,
            stop=context.stop,
            guard=context.guard,
            secrets=secrets,
        )
        output = log_path.read_text(encoding="utf-8", errors="replace")
    if result.error is not None or result.exit_code != 0:
        why = result.error or f"exited with {result.exit_code}"
        return Listing(
            task.name, task.kind, error=f"playwright test --list {why}{last_line(output)}"
        )
    return Listing(task.name, task.kind, playwright_listed_tests(output))


def playwright_listed_tests(output: str) -> list[str]:
    """The test lines between `Listing tests:` and `Total:` in Playwright's list output."""
    tests: list[str] = []
    listing = False
    for line in output.splitlines():
        if line.startswith(LISTING_HEADER):
            listing = True
        elif line.startswith(LISTING_TOTAL):
            listing = False
        elif listing and line.strip():
            tests.append(line.strip())
    return tests


def log_tail(log_path: Path) -> str:
    """`: <last line>` of a log, to say why a tool failed; empty without one."""
    try:
        return last_line(log_path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return ""


def last_line(output: str) -> str:
    """`: <last non-empty line>` of a tool's output, or nothing."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""


def masked(listing: Listing, secrets: SecretValues) -> Listing:
    """The listing with secret values shown as `***`."""
    return Listing(
        task=listing.task,
        kind=listing.kind,
        tests=[secrets.mask(test) for test in listing.tests],
        error=secrets.mask(listing.error) if listing.error is not None else None,
        listable=listing.listable,
    )


def listing_text(listings: list[Listing]) -> str:
    """A header per task with its count, then one line per test."""
    lines: list[str] = []
    for listing in listings:
        if listing.error is not None:
            lines.append(f"{listing.task} ({listing.kind}): cannot list: {listing.error}")
        elif not listing.listable:
            lines.append(f"{listing.task} ({listing.kind}): cannot list ({listing.kind} suite)")
        else:
            lines.append(f"{listing.task} ({listing.kind}): {counted(listing.count)}")
            lines += [f"  {test}" for test in listing.tests]
    total = sum(listing.count for listing in listings)
    lines.append(f"{counted(total)} in {len(listings)} task{'' if len(listings) == 1 else 's'}.")
    return "".join(f"{line}\n" for line in lines)


def counted(count: int) -> str:
    """`1 test`, `3 tests`."""
    return f"{count} test" if count == 1 else f"{count} tests"


def listing_data(listing: Listing) -> dict[str, object]:
    """The listing as JSON data, with its count."""
    return {**asdict(listing), "count": listing.count}
