"""Every option of `qaagent run-all` declared once: flag, metavar, bound, help, default.

A run setting is a scalar of the profile's `run:` section. Its value comes from the command
line, else its `QAAGENT_*` environment variable, else the profile, else the model's default;
`source_of` says which, for the manifest. The other options belong to one run only. The
commands build their Typer parameters from these declarations, and `to_argv` writes values
back as options.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "QAAGENT_"
COMMAND_LINE = "command line"
PROFILE = "profile"
DEFAULT = "default"


@dataclass(frozen=True)
class Opt:
    """One option: its name, its flag (if any) and how the command line reads and shows it.

    A setting (a `run:` key) left off the command line is None, so that its environment
    variable or the profile can give it; `default` is then the profile model's default.
    """

    name: str
    help: str
    default: object = None
    flag: str | None = None
    short: str | None = None
    metavar: str | None = None
    min: float | None = None
    value_type: type = str
    repeatable: bool = False
    setting: bool = True

    @property
    def flags(self) -> list[str]:
        """The option's spellings, long first: `--suite` and `-s`."""
        return [word for word in (self.flag, self.short) if word is not None]

    @property
    def cli_default(self) -> object:
        """The value when the option is not given; a setting then leaves the choice to others."""
        return None if self.setting else self.default

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
        """The options that give this setting `value`; nothing when unset or not an option."""
        if self.flag is None or value is None:
            return []
        if isinstance(value, bool):
            positive, _, negative = self.flag.partition("/")
            return [positive] if value else [negative] if negative else []
        if self.repeatable and isinstance(value, list | tuple):
            return [word for item in value for word in (self.flag, str(item))]
        return [self.flag, str(value)]


RUN_OPTIONS: tuple[Opt, ...] = (
    Opt(
        "parallel",
        "Run tasks at the same time (run.parallel).",
        default=False,
        flag="--parallel/--no-parallel",
        value_type=bool,
    ),
    Opt(
        "max_workers",
        "Tasks at once when parallel (default: run.max_workers, else the number of tasks).",
        flag="--max-workers",
        metavar="N",
        min=1,
        value_type=int,
    ),
    Opt(
        "retry_count",
        "Reruns of failed tests (run.retry_count).",
        default=0,
        flag="--retries",
        metavar="N",
        min=0,
        value_type=int,
    ),
    Opt(
        "timeout",
        "Seconds per task before it is killed (run.timeout; a suite's own timeout wins).",
        flag="--timeout",
        metavar="SECONDS",
        min=0.001,
        value_type=float,
    ),
    Opt(
        "fail_fast",
        "After the first failing task, start nothing more and stop running tasks.",
        default=False,
        flag="--fail-fast/--no-fail-fast",
        value_type=bool,
    ),
    Opt(
        "max_failures",
        "Once N tests failed across the run, start nothing more and stop running tasks "
        "(run.max_failures).",
        flag="--max-failures",
        metavar="N",
        min=1,
        value_type=int,
    ),
    Opt(
        "retry_on_attempts",
        "Retries of transient failures (a suite's retry_on), apart from retry_count.",
        default=3,
        value_type=int,
    ),
    Opt(
        "retry_on_backoff",
        "Seconds before the first retry after a transient failure or an attempt without "
        "results, doubling each time up to 60.",
        default=1.0,
        value_type=float,
    ),
    Opt("runs_dir", "Where run directories go, relative to the profile.", default=".qaagent/runs"),
    Opt(
        "durations_file",
        "Recorded durations that --part divides the plan by: a file of `qaagent durations "
        "export` (default: this machine's run history).",
        flag="--durations",
        metavar="FILE",
    ),
    Opt(
        "cache",
        "Skip every suite whose inputs are unchanged since a passing run (a suite's own cache "
        "wins).",
        default=False,
        value_type=bool,
    ),
    Opt(
        "python",
        "Python that runs pytest and behave suites: a path relative to the profile or a command "
        "on PATH (default: $VIRTUAL_ENV, else .venv or venv next to the profile, else python3 on "
        "PATH).",
    ),
)

OPTIONS_BY_NAME: Mapping[str, Opt] = {opt.name: opt for opt in RUN_OPTIONS}

CONFIG = Opt(
    "config",
    "Profile to use (default: qaagent.yaml or .qaagent.yaml here or in a parent folder).",
    flag="--config",
    short="-c",
    value_type=Path,
    setting=False,
)
SUITE = Opt(
    "suite",
    "Only this suite or task; glob patterns work. Repeatable.",
    flag="--suite",
    short="-s",
    metavar="NAME",
    repeatable=True,
    setting=False,
)
SKIP = Opt(
    "skip",
    "Leave out this suite or task; glob patterns work. Repeatable.",
    flag="--skip",
    metavar="NAME",
    repeatable=True,
    setting=False,
)
RUN_TIMEOUT = Opt(
    "run_timeout",
    "Seconds for the whole run. When reached, running tasks are stopped and reported "
    "timed-out, queued ones not-run, the evidence is still written, and the exit code is 3.",
    flag="--run-timeout",
    metavar="SECONDS",
    min=0.001,
    value_type=float,
    setting=False,
)
ENV = Opt(
    "env",
    "App environment to use (default: 'local' if defined, else the first one).",
    flag="--env",
    metavar="NAME",
    setting=False,
)
JSON = Opt(
    "json",
    "Print reports/summary.json's content on stdout (built from the run folder when "
    "--report leaves out json); progress on stderr.",
    default=False,
    flag="--json",
    value_type=bool,
    setting=False,
)
EVENTS = Opt(
    "events",
    "Stream the run's events, one JSON object per line: 'jsonl' on stdout (progress "
    "and summary on stderr), 'jsonl=PATH' appended to the file PATH. See `qaagent schema "
    "--events`.",
    flag="--events",
    metavar="jsonl[=PATH]",
    setting=False,
)
REPORT = Opt(
    "report",
    "Reports written into the run directory: a comma list of junit, json, md, html; "
    "'all' or 'none'.",
    default="all",
    flag="--report",
    metavar="FORMATS",
    setting=False,
)
LAST_FAILED = Opt(
    "last_failed",
    "Run only the tasks, and within them only the tests, that failed in the latest "
    "run (everything when nothing failed).",
    default=False,
    flag="--last-failed",
    value_type=bool,
    setting=False,
)
ORDER = Opt(
    "order",
    "Start order: 'profile' (run.suite_order exactly, then priority) or 'duration' "
    "(priority, then longest first by earlier runs, then suite_order). Default: duration "
    "once a run was recorded, else profile.",
    flag="--order",
    metavar="profile|duration",
    setting=False,
)
CHROMIUM = Opt(
    "chromium",
    "Chromium for browser suites (default: $QAAGENT_CHROMIUM, else /usr/bin/chromium "
    "or chromium on PATH).",
    flag="--chromium",
    metavar="PATH",
    setting=False,
)
PART = Opt(
    "part",
    "Run only this CI job's part I of N of the plan, divided by recorded durations "
    "(also $QAAGENT_PART); merge the parts' runs with `qaagent merge`.",
    flag="--part",
    metavar="I/N",
    setting=False,
)
PLAN = Opt(
    "plan",
    "With --part: run exactly the part saved by `qaagent plan --parts N -o FILE`, whatever "
    "the durations say now.",
    flag="--plan",
    metavar="FILE",
    value_type=Path,
    setting=False,
)
BACKEND = Opt(
    "backend",
    "Where the tasks run: 'local' (threads of qaagent), 'dask' (the cluster at --scheduler) "
    "or 'dask-local' (a cluster of worker processes started here). Default: run.backend.kind.",
    flag="--backend",
    metavar="local|dask|dask-local",
    setting=False,
)
SCHEDULER = Opt(
    "dask_scheduler",
    "The Dask scheduler for --backend dask, tcp://host:8786 (default: $QAAGENT_DASK_SCHEDULER, "
    "else run.backend.scheduler).",
    flag="--scheduler",
    metavar="URL",
    setting=False,
)
DASK_WORKERS = Opt(
    "dask_workers",
    "Worker processes of --backend dask-local (default: run.backend.workers, else the CPU count).",
    flag="--dask-workers",
    metavar="N",
    min=1,
    value_type=int,
    setting=False,
)
NO_CACHE = Opt(
    "no_cache",
    "Run every selected suite, even those whose cached result still stands (also "
    "$QAAGENT_NO_CACHE).",
    default=False,
    flag="--no-cache",
    value_type=bool,
    setting=False,
)

RUN_ALL_OPTIONS: tuple[Opt, ...] = (
    CONFIG,
    OPTIONS_BY_NAME["parallel"],
    OPTIONS_BY_NAME["max_workers"],
    SUITE,
    SKIP,
    OPTIONS_BY_NAME["fail_fast"],
    OPTIONS_BY_NAME["max_failures"],
    OPTIONS_BY_NAME["timeout"],
    RUN_TIMEOUT,
    OPTIONS_BY_NAME["retry_count"],
    ENV,
    JSON,
    EVENTS,
    REPORT,
    LAST_FAILED,
    ORDER,
    CHROMIUM,
    PART,
    OPTIONS_BY_NAME["durations_file"],
    PLAN,
    BACKEND,
    SCHEDULER,
    DASK_WORKERS,
    NO_CACHE,
)
"""Every option of `qaagent run-all`, in the order its help lists them."""


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
    """`qaagent run-all` options that give these values; settings without a flag are left out."""
    return [word for opt in RUN_ALL_OPTIONS for word in opt.to_argv(values.get(opt.name))]
