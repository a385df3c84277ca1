"""Every run setting of `qaagent run-all` declared once: flag, environment variable, profile key.

A run setting is a scalar of the profile's `run:` section. Its value comes from the command
line, else its `QAAGENT_*` environment variable, else the profile, else the model's default;
`source_of` says which, for the manifest, and `to_argv` writes the values back as options.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "QAAGENT_"
COMMAND_LINE = "command line"
PROFILE = "profile"
DEFAULT = "default"


@dataclass(frozen=True)
class Opt:
    """One run setting: its `run:` key, its run-all option (if any), its help and default."""

    name: str
    help: str
    default: object = None
    flag: str | None = None

    @property
    def env_var(self) -> str:
        """`max_workers` is overridden by `QAAGENT_MAX_WORKERS`."""
        return ENV_PREFIX + self.name.upper()

    @property
    def option_name(self) -> str | None:
        """The option as error messages name it: `--parallel` of `--parallel/--no-parallel`."""
        return None if self.flag is None else self.flag.split("/")[0]

    def env_value(self, environ: Mapping[str, str]) -> str | None:
        """The environment's value; an empty variable is no override."""
        return environ.get(self.env_var) or None

    def to_argv(self, value: object) -> list[str]:
        """The option that gives this setting `value`; nothing when unset or not an option."""
        if self.flag is None or value is None:
            return []
        if isinstance(value, bool):
            positive, negative = self.flag.split("/")
            return [positive if value else negative]
        return [self.flag, str(value)]


RUN_OPTIONS: tuple[Opt, ...] = (
    Opt(
        "parallel",
        "Run tasks at the same time (run.parallel).",
        default=False,
        flag="--parallel/--no-parallel",
    ),
    Opt(
        "max_workers",
        "Tasks at once when parallel (default: run.max_workers, else the number of tasks).",
        flag="--max-workers",
    ),
    Opt(
        "retry_count",
        "Reruns of failed tests (run.retry_count).",
        default=0,
        flag="--retries",
    ),
    Opt(
        "timeout",
        "Seconds per task before it is killed (run.timeout; a suite's own timeout wins).",
        flag="--timeout",
    ),
    Opt(
        "fail_fast",
        "After the first failing task, start nothing more and stop running tasks.",
        default=False,
        flag="--fail-fast/--no-fail-fast",
    ),
    Opt(
        "max_failures",
        "Once N tests failed across the run, start nothing more and stop running tasks "
        "(run.max_failures).",
        flag="--max-failures",
    ),
    Opt(
        "retry_on_attempts",
        "Retries of transient failures (a suite's retry_on), apart from retry_count.",
        default=3,
    ),
    Opt(
        "retry_on_backoff",
        "Seconds before the first retry after a transient failure or an attempt without "
        "results, doubling each time up to 60.",
        default=1.0,
    ),
    Opt("runs_dir", "Where run directories go, relative to the profile.", default=".qaagent/runs"),
    Opt(
        "python",
        "Python that runs pytest and behave suites: a path relative to the profile or a command "
        "on PATH (default: $VIRTUAL_ENV, else .venv or venv next to the profile, else python3 on "
        "PATH).",
    ),
)

OPTIONS_BY_NAME: Mapping[str, Opt] = {opt.name: opt for opt in RUN_OPTIONS}


def option(name: str) -> Opt:
    """The run setting called `name` in the profile's `run:` section."""
    return OPTIONS_BY_NAME[name]


def source_of(
    opt: Opt, cli: Mapping[str, Any], environ: Mapping[str, str], profile_keys: Set[str]
) -> str:
    """Where the setting's value comes from: command line > environment > profile > default."""
    if cli.get(opt.name) is not None:
        return COMMAND_LINE
    if opt.env_value(environ) is not None:
        return f"environment {opt.env_var}"
    if opt.name in profile_keys:
        return PROFILE
    return DEFAULT


def to_argv(values: Mapping[str, object]) -> list[str]:
    """`qaagent run-all` options that give these run settings; the rest travel in the profile."""
    return [word for opt in RUN_OPTIONS for word in opt.to_argv(values.get(opt.name))]
