"""The `qaagent.yaml` profile as strict pydantic models: unknown keys are errors."""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from qaagent.model.task import SuiteKind

E2ERunner = Literal["auto", "playwright-node", "playwright-python"]
BUILTIN_SUITES = ("unit", "behave", "e2e")
SUITE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _scalar_to_text(value: Any) -> Any:
    """Let `PORT: 8000` or `args: [-n, 4]` mean the text a shell would pass."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _reject_boolean_integer(value: Any) -> Any:
    """`max_workers: yes` is a mistake, not the number 1."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _reject_boolean_number(value: Any) -> Any:
    """`timeout: true` is a mistake, not one second."""
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


Text = Annotated[
    str,
    BeforeValidator(_scalar_to_text),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


def _compiles(pattern: str) -> str:
    """A retry pattern must be a valid regular expression, caught when the profile loads."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return pattern


def _runnable(command: str | list[str]) -> str | list[str]:
    """A command must name a program, and one written as a string must split like a shell's."""
    try:
        words = shlex.split(command) if isinstance(command, str) else command
    except ValueError as exc:
        raise ValueError(f"cannot be split into words as a shell would ({exc})") from exc
    if not words or not words[0]:
        raise ValueError("names no program to run")
    return command


def _has_values(values: list[str]) -> list[str]:
    """An empty matrix axis would leave the suite without a single task, silently."""
    if not values:
        raise ValueError("lists no values, so the suite would have no task")
    return values


def _without_nul(value: str) -> str:
    """A NUL cannot pass through a command line, a variable or a folder name."""
    if "\0" in value:
        raise ValueError("contains a NUL character, which no command, variable or folder can hold")
    return value


def _relative_glob(pattern: str) -> str:
    """An input pattern is a glob below the profile's folder, which the cache key reads."""
    parts = PurePosixPath(pattern).parts
    if not pattern or "\0" in pattern or pattern.startswith(("/", "\\")) or ".." in parts:
        raise ValueError("must be a glob below the profile's folder, such as 'src/**/*.py'")
    return pattern


RetryPattern = Annotated[str, AfterValidator(_compiles)]
InputPattern = Annotated[str, AfterValidator(_relative_glob)]
MatrixValue = Annotated[Text, AfterValidator(_without_nul)]
VariableName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
MatrixValues = Annotated[
    list[MatrixValue], AfterValidator(_has_values), Field(json_schema_extra={"minItems": 1})
]
InterpreterSetting = Annotated[str, Field(min_length=1), AfterValidator(_without_nul)]
Command = Annotated[Text | list[Text], AfterValidator(_runnable)]
Integer = Annotated[int, BeforeValidator(_reject_boolean_integer)]
PositiveInt = Annotated[int, Field(gt=0), BeforeValidator(_reject_boolean_integer)]
NonNegativeInt = Annotated[int, Field(ge=0), BeforeValidator(_reject_boolean_integer)]
PositiveFloat = Annotated[
    float, Field(gt=0, allow_inf_nan=False), BeforeValidator(_reject_boolean_number)
]


class StrictModel(BaseModel):
    """Base of every profile section: unknown keys are reported, never ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProjectSettings(StrictModel):
    """What the profile is about; shown in reports."""

    name: str | None = Field(None, description="Project name shown in reports.")
    description: str | None = Field(None, description="One line about the project.")


class AppEnvironment(StrictModel):
    """One environment the application under test can run in (local, staging, ...)."""

    base_url: str = Field(description="Exported to suites as BASE_URL.")
    start_command: Command | None = Field(
        None, description="Command that starts the app before the suites that need it."
    )
    health_endpoint: str | None = Field(
        None, description="Path (or full URL) polled until the app answers with a 2xx status."
    )
    startup_timeout: PositiveFloat = Field(
        60, description="Seconds to wait for the health endpoint before giving up."
    )
    reuse_existing: bool = Field(
        False,
        description="Test against a server already answering base_url instead of starting one; "
        "without it, such a server is an error.",
    )


def _document_output_dir(schema: dict[str, Any]) -> None:
    """Editors should accept the older `output_dir` spelling that the loader accepts."""
    properties = schema.get("properties", {})
    if "path" in properties:
        properties["output_dir"] = {**properties["path"], "deprecated": True}


class SuiteOptions(StrictModel):
    """Fields shared by the built-in test folders and named suites."""

    model_config = ConfigDict(json_schema_extra=_document_output_dir)

    enabled: bool | None = Field(
        None,
        description="true: run (its path must exist); false: skip; unset: run when the path exists.",
    )
    path: str | None = Field(
        None,
        validation_alias=AliasChoices("path", "output_dir"),
        description="Folder or file of the tests, relative to the profile.",
    )
    command: Command | None = Field(
        None, description="Command to run instead of the kind's default invocation."
    )
    args: list[Text] = Field(default_factory=list, description="Extra arguments for the tool.")
    env: dict[str, Text] = Field(default_factory=dict, description="Extra environment variables.")
    cwd: str | None = Field(None, description="Working folder, relative to the profile.")
    python: InterpreterSetting | None = Field(
        None,
        description="Python that runs pytest or behave: a path relative to the profile or a "
        "command on PATH (default: run.python).",
    )
    matrix: dict[str, MatrixValues] = Field(
        default_factory=dict,
        description="One task per combination; values replace {name} in env, args and command "
        "({workers} is the worker slots of the task).",
    )
    pool: str | None = Field(None, description="Concurrency pool (declared in run.pools).")
    resources: dict[str, PositiveFloat] = Field(
        default_factory=dict,
        description="Dask worker resources each task holds, {browser: 1}; the local backend "
        "ignores them.",
    )
    timeout: PositiveFloat | None = Field(None, description="Seconds before the task is killed.")
    retry_count: NonNegativeInt | None = Field(
        None, description="Reruns of failed tests (default: run.retry_count)."
    )
    priority: Integer = Field(0, description="Higher starts earlier among otherwise equal tasks.")
    needs_app: bool | None = Field(
        None, description="Start the app before this suite (default: true for Playwright kinds)."
    )
    retry_on: list[RetryPattern] = Field(
        default_factory=list,
        description="Regular expressions; a failed attempt whose output matches one (e.g. "
        "'HTTP 429') is a transient failure, retried after an exponential backoff even when "
        "retry_count is 0.",
    )
    retry_on_attempts: NonNegativeInt | None = Field(
        None,
        description="Retries of transient failures (retry_on), apart from retry_count "
        "(default: run.retry_on_attempts).",
    )
    retry_on_backoff: PositiveFloat | None = Field(
        None,
        description="Seconds before the first retry after a transient failure or an attempt "
        "without results, doubling each time up to 60 (default: run.retry_on_backoff).",
    )
    split: Literal["auto"] | PositiveInt | None = Field(
        None,
        description="Split a pytest or Playwright suite into this many tasks of about equal "
        "recorded duration ('auto': one per worker); results merge back into one suite.",
    )
    split_keep_together: list[str] = Field(
        default_factory=list,
        description="Markers whose tests always land in the same split task (tests sharing a "
        "module-, class- or package-scoped fixture always do).",
    )
    cache: bool | None = Field(
        None,
        description="Skip the suite when nothing it depends on changed since a passing run "
        "(default: run.cache).",
    )
    inputs: list[InputPattern] = Field(
        default_factory=list,
        description="Glob patterns below the profile's folder of the files the cache key reads "
        "(default: the files git tracks or would track under the profile's folder).",
    )
    split_mode: Literal["fork", "processes"] = Field(
        "fork",
        description="How a split pytest suite runs its parts: 'fork' forks one child per part "
        "from one pytest (Linux; before collection, each part collecting its own files, once "
        "durations are recorded; separate processes when threads are alive), 'processes' "
        "starts one pytest per part.",
    )


class BuiltinSuite(SuiteOptions):
    """A built-in test folder (tests.unit, tests.behave)."""


class E2ESuite(SuiteOptions):
    """The end-to-end folder, run with Playwright."""

    runner: E2ERunner = Field(
        "auto",
        description="auto: playwright-node when a playwright.config.* is found, else playwright-python.",
    )


class TestsSection(StrictModel):
    """The three conventional suites: unit (pytest), behave, e2e (Playwright)."""

    unit: BuiltinSuite = Field(default_factory=BuiltinSuite)
    behave: BuiltinSuite = Field(default_factory=BuiltinSuite)
    e2e: E2ESuite = Field(default_factory=E2ESuite)


class SuiteConfig(SuiteOptions):
    """A named extra suite."""

    enabled: bool | None = Field(
        None,
        description="false: skip; true or unset: run (its path, when given, must exist).",
    )
    kind: SuiteKind = Field(description="How the suite is run and its results read.")


class BackendSettings(StrictModel):
    """Where the tasks run: threads of qaagent, a Dask cluster, or a Dask cluster started here."""

    kind: Literal["local", "dask", "dask-local"] = Field(
        "local",
        description="local (threads of qaagent), dask (the cluster at `scheduler`) or dask-local "
        "(a cluster of worker processes started for the run).",
    )
    scheduler: str | None = Field(
        None, description="The Dask scheduler's address, tcp://host:8786 (kind dask)."
    )
    workers: PositiveInt | None = Field(
        None, description="Worker processes of a dask-local cluster (default: the CPU count)."
    )


def _web_address(url: str) -> str:
    """Only http and https addresses with a host: a notification goes to a web hook."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in {"http", "https"} or not rest.split("/", 1)[0]:
        raise ValueError(f"not an http:// or https:// address with a host: {url!r}")
    return url


WebAddress = Annotated[str, AfterValidator(_web_address)]
NotifyWhen = Literal["failed", "passed", "all"]


def _every_end() -> list[NotifyWhen]:
    """By default a hook hears of every end."""
    return ["all"]


class NotifyTarget(StrictModel):
    """A web hook `qaagent serve` POSTs an execution's summary to when it ends."""

    url: WebAddress = Field(description="The http:// or https:// address to POST to.")
    on: list[NotifyWhen] = Field(
        default_factory=_every_end,
        description="When: passed, failed (any end but passed), or all.",
    )

    @model_validator(mode="before")
    @classmethod
    def _on_read_as_true(cls, data: Any) -> Any:
        """YAML 1.1 reads an unquoted `on:` key as `true`; it means `on` here."""
        if isinstance(data, dict) and True in data and "on" not in data:
            return {("on" if key is True else key): value for key, value in data.items()}
        return data


class RunSettings(StrictModel):
    """How `qaagent run-all` runs the suites."""

    suite_order: list[str] = Field(
        default_factory=list, description="Suites listed first run first, in this order."
    )
    parallel: bool = Field(False, description="Run tasks at the same time.")
    max_workers: PositiveInt | None = Field(
        None, description="Tasks at once when parallel (default: the number of tasks)."
    )
    retry_count: NonNegativeInt = Field(0, description="Reruns of failed tests, per suite.")
    timeout: PositiveFloat | None = Field(None, description="Seconds per task before it is killed.")
    fail_fast: bool = Field(False, description="Stop everything after the first failing task.")
    max_failures: PositiveInt | None = Field(
        None,
        description="Stop starting and running tasks once this many tests failed across the run.",
    )
    retry_on_attempts: NonNegativeInt = Field(
        3, description="Retries of transient failures (a suite's retry_on), apart from retry_count."
    )
    retry_on_backoff: PositiveFloat = Field(
        1.0,
        description="Seconds before the first retry after a transient failure or an attempt "
        "without results, doubling each time up to 60.",
    )
    pools: dict[str, PositiveInt] = Field(
        default_factory=dict, description="Named caps on how many tasks of a pool run at once."
    )
    runs_dir: str = Field(
        ".qaagent/runs", description="Where run directories go, relative to the profile."
    )
    durations_file: str | None = Field(
        None,
        description="Recorded durations that --part divides the plan by: a file of `qaagent "
        "durations export`, relative to the profile (default: the run history).",
    )
    backend: BackendSettings = Field(
        default_factory=BackendSettings,
        description='Where the tasks run; see "Running on a Dask cluster".',
    )
    python: InterpreterSetting | None = Field(
        None,
        description="Python that runs pytest and behave suites: a path relative to the profile "
        "or a command on PATH (default: $VIRTUAL_ENV, else .venv or venv next to the profile, "
        "else python3 on PATH).",
    )
    cache: bool = Field(
        False,
        description="Skip every suite whose inputs are unchanged since a passing run "
        "(a suite's own cache wins).",
    )


class QAAgentProfile(StrictModel):
    """A `qaagent.yaml` profile."""

    project: ProjectSettings = Field(default_factory=ProjectSettings)
    app: dict[str, AppEnvironment] = Field(
        default_factory=dict, description="Environments of the application under test."
    )
    tests: TestsSection = Field(default_factory=TestsSection)
    suites: dict[str, SuiteConfig] = Field(
        default_factory=dict, description="Named extra suites of any kind."
    )
    run: RunSettings = Field(default_factory=RunSettings)
    secrets: list[VariableName] = Field(
        default_factory=list,
        description="Variables whose values are shown as `***` in logs, evidence, reports and "
        "output, besides those whose names hold TOKEN, SECRET, PASSWORD, KEY, AUTH or CREDENTIAL.",
    )
    notify: list[NotifyTarget] = Field(
        default_factory=list,
        description="Web hooks `qaagent serve` POSTs each execution's summary to when it ends.",
    )

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Names that point nowhere: suite_order entries, pools, suite names."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        known = set(BUILTIN_SUITES) | set(self.suites)
        for index, name in enumerate(self.run.suite_order):
            if name not in known:
                problems.append(
                    (
                        ("run", "suite_order", index),
                        f"unknown suite {name!r} (known: {_listing(known)})",
                    )
                )
        for name, suite in self.suites.items():
            if name in BUILTIN_SUITES:
                problems.append(
                    (
                        ("suites", name),
                        f"{name!r} is a built-in suite; configure it under tests.{name}",
                    )
                )
            elif not SUITE_NAME_PATTERN.match(name):
                problems.append(
                    (("suites", name), "suite names use letters, digits, '_', '.' and '-'")
                )
            if suite.kind == "command" and suite.command is None:
                problems.append((("suites", name, "kind"), "a command suite needs a 'command'"))
        for loc, options in self.all_suite_options():
            if options.pool is not None and options.pool not in self.run.pools:
                problems.append(
                    ((*loc, "pool"), f"unknown pool {options.pool!r} (declare it under run.pools)")
                )
        return problems

    def all_suite_options(self) -> list[tuple[tuple[str, ...], SuiteOptions]]:
        """Every suite section with its location in the profile, built-ins first."""
        builtins: list[tuple[tuple[str, ...], SuiteOptions]] = [
            (("tests", name), getattr(self.tests, name)) for name in BUILTIN_SUITES
        ]
        return builtins + [(("suites", name), suite) for name, suite in self.suites.items()]


def _listing(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "none"
