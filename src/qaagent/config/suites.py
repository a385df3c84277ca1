"""Turn the profile's suite sections into concrete suites with absolute paths."""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from qaagent.config.interpreter import resolve_interpreter
from qaagent.config.models import BUILTIN_SUITES, E2ESuite, QAAgentProfile, SuiteOptions
from qaagent.config.yamlsource import Location
from qaagent.model.task import Interpreter, SuiteKind
from qaagent.naming import HASH_LENGTH, MAX_FOLDER_BYTES, folder_bytes, task_name

DEFAULT_PATHS = {"unit": "tests", "behave": "features", "e2e": "e2e"}
BUILTIN_KINDS: dict[str, SuiteKind] = {
    "unit": "pytest",
    "behave": "behave",
    "e2e": "playwright-python",
}
SPLITTABLE_KINDS: frozenset[SuiteKind] = frozenset(
    {"pytest", "playwright-python", "playwright-node"}
)
PYTHON_KINDS: frozenset[SuiteKind] = frozenset({"pytest", "behave", "playwright-python"})
APP_KINDS: frozenset[SuiteKind] = frozenset({"playwright-python", "playwright-node"})
PLAYWRIGHT_CONFIGS = ("playwright.config.ts", "playwright.config.js", "playwright.config.mjs")
MAX_TASKS = 10_000
LONGEST_SHARD_LABEL = "[shard=9999/9999]"


class SuiteSpec(BaseModel):
    """One runnable suite of the profile, with paths made absolute."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: SuiteKind
    source: str
    path: Path | None
    cwd: Path
    command: tuple[str, ...] | None
    args: tuple[str, ...]
    env: dict[str, str]
    matrix: dict[str, tuple[str, ...]]
    pool: str | None
    timeout: float | None
    retry_count: int
    priority: int
    needs_app: bool = False
    retry_on: tuple[str, ...] = ()
    retry_on_attempts: int = 3
    retry_on_backoff: float = 1.0
    split: int | Literal["auto"] | None = None
    split_keep_together: tuple[str, ...] = ()
    split_mode: Literal["fork", "processes"] = "fork"
    python: Interpreter | None = None
    resources: dict[str, float] = Field(default_factory=dict)
    cache: bool = False
    inputs: tuple[str, ...] = ()
    root: Path | None = None


@dataclass
class SuitePlan:
    """Suites that will run, what was left out and why, and problems found on the way."""

    suites: list[SuiteSpec] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    problems: list[tuple[Location, str]] = field(default_factory=list)


def resolve_suites(profile: QAAgentProfile, root: Path, environ: Mapping[str, str]) -> SuitePlan:
    """Resolve every enabled suite, in suite_order first and profile order after.

    The built-in folders (tests/, features/, e2e/) are looked for only when the profile has a
    `tests` section, so a project that keeps other tests in such a folder is left alone.
    """
    plan = SuitePlan()
    task_counts: list[tuple[Location, int]] = []
    with_builtins = "tests" in profile.model_fields_set
    for location, options in profile.all_suite_options():
        if location[0] == "tests" and not with_builtins:
            continue
        name = str(location[-1])
        spec = _resolve_one(name, location, options, profile, root, environ, plan)
        if spec is None:
            continue
        folder_problem = _folder_name_problem(spec, location)
        if folder_problem is not None:
            plan.problems.append(folder_problem)
            continue
        plan.suites.append(spec)
        task_counts.append((location, task_count(spec)))
    plan.problems.extend(_too_many_tasks(task_counts))
    plan.suites = order_suites(plan.suites, profile.run.suite_order)
    return plan


def task_count(suite: SuiteSpec) -> int:
    """Tasks the suite expands to, counted without expanding it: the product of its axes."""
    return math.prod(len(values) for values in suite.matrix.values())


def _too_many_tasks(task_counts: list[tuple[Location, int]]) -> list[tuple[Location, str]]:
    """A profile of more than MAX_TASKS tasks is a mistake that would hang planning, not a run."""
    total = sum(count for _, count in task_counts)
    if total <= MAX_TASKS:
        return []
    location, count = max(task_counts, key=lambda item: item[1])
    others = f", {total:,} with the other suites" if total != count else ""
    return [
        (
            (*location, "matrix") if count > 1 else location,
            f"makes {count:,} tasks{others}; a profile may expand to at most {MAX_TASKS:,}",
        )
    ]


def _folder_name_problem(suite: SuiteSpec, location: Location) -> tuple[Location, str] | None:
    """Every task's folder name, with a shard label and hash, must fit the file system's limit."""
    longest = {key: max(values, key=folder_bytes) for key, values in suite.matrix.items()}
    name = task_name(suite.name, longest) + (LONGEST_SHARD_LABEL if suite.split else "")
    size = folder_bytes(name) + 1 + HASH_LENGTH
    if size <= MAX_FOLDER_BYTES:
        return None
    return (
        _longest_part(suite, location),
        f"makes task folder names of up to {size} bytes, over the {MAX_FOLDER_BYTES} "
        "a folder name may have",
    )


def _longest_part(suite: SuiteSpec, location: Location) -> Location:
    """Where the longest matrix value is, or the suite itself when it has no matrix."""
    parts = [
        (folder_bytes(value), (*location, "matrix", key, index))
        for key, values in suite.matrix.items()
        for index, value in enumerate(values)
    ]
    return max(parts, key=lambda part: part[0])[1] if parts else location


def order_suites(suites: list[SuiteSpec], suite_order: list[str]) -> list[SuiteSpec]:
    """Named order first, then higher priority, then profile order."""
    position = {name: index for index, name in enumerate(suite_order)}
    ranked = sorted(
        enumerate(suites),
        key=lambda item: (position.get(item[1].name, len(position)), -item[1].priority, item[0]),
    )
    return [suite for _, suite in ranked]


def _resolve_one(
    name: str,
    location: Location,
    options: SuiteOptions,
    profile: QAAgentProfile,
    root: Path,
    environ: Mapping[str, str],
    plan: SuitePlan,
) -> SuiteSpec | None:
    """Resolve one suite section, or note why it does not run."""
    builtin = location[0] == "tests"
    source = ".".join(str(part) for part in location)
    if options.enabled is False:
        plan.notices.append(f"{source}: disabled in the profile")
        return None
    path = _suite_path(name, options, builtin, root)
    if path is not None and not path.exists():
        if builtin and options.enabled is None:
            plan.notices.append(f"{source}: skipped, {_shown(path, root)} does not exist")
            return None
        field_name = "path" if options.path is not None else "enabled"
        plan.problems.append(((*location, field_name), f"{_shown(path, root)} does not exist"))
        return None
    cwd = (root / options.cwd).resolve() if options.cwd else root
    if options.cwd and not cwd.is_dir():
        plan.problems.append(((*location, "cwd"), f"{_shown(cwd, root)} is not a folder"))
        return None
    kind = _suite_kind(name, options, path, root)
    if options.split is not None and kind not in SPLITTABLE_KINDS:
        plan.problems.append(
            ((*location, "split"), f"split works on pytest and Playwright suites, not {kind}")
        )
        return None
    python_problem = _python_problem(kind, options)
    if python_problem is not None:
        plan.problems.append(((*location, "python"), python_problem))
        return None
    return SuiteSpec(
        name=name,
        kind=kind,
        source=source,
        path=path,
        cwd=cwd,
        command=_split_command(options.command),
        args=tuple(options.args),
        env=dict(options.env),
        matrix={key: tuple(values) for key, values in options.matrix.items()},
        pool=options.pool,
        resources=dict(options.resources),
        timeout=options.timeout if options.timeout is not None else profile.run.timeout,
        retry_count=(
            options.retry_count if options.retry_count is not None else profile.run.retry_count
        ),
        priority=options.priority,
        needs_app=options.needs_app if options.needs_app is not None else kind in APP_KINDS,
        retry_on=tuple(options.retry_on),
        retry_on_attempts=(
            options.retry_on_attempts
            if options.retry_on_attempts is not None
            else profile.run.retry_on_attempts
        ),
        retry_on_backoff=options.retry_on_backoff or profile.run.retry_on_backoff,
        split=options.split,
        split_keep_together=tuple(options.split_keep_together),
        split_mode=options.split_mode,
        python=_interpreter(kind, options, source, profile, root, environ),
        cache=options.cache if options.cache is not None else profile.run.cache,
        inputs=tuple(options.inputs),
        root=root,
    )


def _python_problem(kind: SuiteKind, options: SuiteOptions) -> str | None:
    """A `python` that would be ignored is a mistake worth saying, not a silent no-op."""
    if options.python is None:
        return None
    if kind not in PYTHON_KINDS:
        return f"python applies to pytest, behave and playwright-python suites, not {kind}"
    if options.command is not None:
        return "python has no effect beside command, which replaces `python -m ...`"
    return None


def _interpreter(
    kind: SuiteKind,
    options: SuiteOptions,
    source: str,
    profile: QAAgentProfile,
    root: Path,
    environ: Mapping[str, str],
) -> Interpreter | None:
    """The Python that runs the suite's tool; none when its own command or kind needs none."""
    if kind not in PYTHON_KINDS or options.command is not None:
        return None
    if options.python is not None:
        return resolve_interpreter(options.python, f"{source}.python", root, environ)
    return resolve_interpreter(profile.run.python, "run.python", root, environ)


def _suite_path(name: str, options: SuiteOptions, builtin: bool, root: Path) -> Path | None:
    """Absolute path of the suite's tests; built-ins fall back to their conventional folder."""
    relative = options.path or (DEFAULT_PATHS[name] if builtin else None)
    return (root / relative).resolve() if relative else None


def _suite_kind(name: str, options: SuiteOptions, path: Path | None, root: Path) -> SuiteKind:
    """The named kind, or the built-in's, with Playwright's flavour detected for e2e."""
    kind = getattr(options, "kind", None)
    if kind is not None:
        return kind  # type: ignore[no-any-return]
    if isinstance(options, E2ESuite):
        if options.runner != "auto":
            return options.runner
        folders = [folder for folder in (path, root) if folder is not None and folder.is_dir()]
        if any((folder / config).exists() for folder in folders for config in PLAYWRIGHT_CONFIGS):
            return "playwright-node"
    return BUILTIN_KINDS[name]


def _split_command(command: str | list[str] | None) -> tuple[str, ...] | None:
    """A command written as one string is split the way a POSIX shell would."""
    if command is None:
        return None
    return tuple(shlex.split(command)) if isinstance(command, str) else tuple(command)


def _shown(path: Path, root: Path) -> str:
    """A path as the user wrote it: relative to the profile when inside it."""
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)


__all__ = ["BUILTIN_SUITES", "SuitePlan", "SuiteSpec", "order_suites", "resolve_suites"]
