"""`qaagent plan --parts N`: the shares of N CI parts, printed or saved for `run-all --plan`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qaagent.commands import ConfigOption, SkipOption, SuiteOption, setup_logging
from qaagent.commands.typer_options import typer_option
from qaagent.options import OPTIONS_BY_NAME

if TYPE_CHECKING:
    from qaagent.config.loader import LoadedProfile
    from qaagent.plan.parts import PartsPlan


def plan(
    parts: Annotated[
        int, typer.Option("--parts", min=1, metavar="N", help="How many CI parts to divide into.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", dir_okay=False, help="Save the plan here for `run-all --plan`."
        ),
    ] = None,
    config: ConfigOption = None,
    suite: SuiteOption = None,
    skip: SkipOption = None,
    durations: Annotated[str | None, typer_option(OPTIONS_BY_NAME["durations_file"])] = None,
) -> None:
    """Divide the selected suites into N parts of about equal recorded duration and show them.

    Each part lists its tasks (a pytest suite by node id where it is divided); the digest names
    the plan, and `qaagent merge` refuses runs of parts whose digests differ.
    """
    setup_logging()
    from qaagent.config.loader import load_profile
    from qaagent.execute.app import app_env, choose_environment
    from qaagent.plan.build import divided_plan
    from qaagent.plan.select import plan_tasks
    from qaagent.plan.tasks import build_tasks

    loaded = load_profile(config, cli_overrides={"durations_file": durations})
    tasks = plan_tasks(build_tasks(loaded.suites), suite or [], skip or [])
    env = app_env(loaded, choose_environment(loaded, None))
    divided, notes = divided_plan(tasks, parts, durations_file(loaded), loaded.runs_dir, env)
    for line in notes:
        typer.echo(f"note: {line}", err=True)
    if output is not None:
        save(divided, output)
    for line in describe(divided):
        typer.echo(line)


def durations_file(loaded: LoadedProfile) -> Path | None:
    """--durations relative to the current folder, the profile's relative to the profile."""
    from qaagent.options import COMMAND_LINE

    name = loaded.profile.run.durations_file
    if name is None:
        return None
    base = Path.cwd() if loaded.sources.get("durations_file") == COMMAND_LINE else loaded.root
    return base / name


def save(divided: PartsPlan, output: Path) -> None:
    """Write the plan as JSON; a file that cannot be written is a usage error."""
    from qaagent.errors import UsageError

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(divided.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{output}: the plan cannot be written ({error.strerror}).") from None


def describe(divided: PartsPlan) -> list[str]:
    """`part 1/3 (~4.2 s): unit (5 tests), features` for each part, then the digest."""
    lines = []
    for index, share in enumerate(divided.shares):
        tasks = [
            name if node_ids is None else f"{name} ({len(node_ids)} tests)"
            for name, node_ids in share.items()
        ]
        seconds = divided.seconds[index]
        lines.append(
            f"part {index + 1}/{divided.total} (~{seconds:.1f} s): {', '.join(tasks) or 'nothing'}"
        )
    lines.append(f"digest: {divided.digest}")
    return lines
