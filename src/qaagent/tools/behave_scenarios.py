"""Scenario locations of behave test ids, read from behave's own dry run of the current features.

A test id is what qaagent reads from behave's JUnit: `<dotted feature path>.<feature name>::<scenario
name>`, with ` #<n>` on the n-th scenario of the same name in a feature. behave's `json` formatter
lists every scenario, each example row of an outline too, with its `file:line`, so ids are matched
against the feature files as they are now: a scenario that moved keeps being found, and one that
was renamed or removed is reported missing instead of selecting whatever sits at its old line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, TypeAdapter, ValidationError

from qaagent.model.task import Task
from qaagent.processes.run import run_process
from qaagent.tools.base import RunContext

SCENARIOS_FILE = "scenarios.json"
SCENARIOS_LOG = "scenarios.log"
SCENARIO = "scenario"


class JsonElement(BaseModel):
    """A scenario (or a background) as behave's `json` formatter writes it."""

    type: str
    name: str = ""
    location: str


class JsonFeature(BaseModel):
    """A feature as behave's `json` formatter writes it; other keys are ignored."""

    name: str = ""
    location: str
    elements: list[JsonElement] = []


FEATURES = TypeAdapter(list[JsonFeature])


@dataclass
class Selection:
    """Absolute `file:line` locations of the selected scenarios, and the ids not found."""

    locations: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def dry_run_argv(command: Iterable[str], paths: list[str], json_file: Path) -> list[str]:
    """behave lists the scenarios without running steps or hooks, as JSON into `json_file`."""
    return [
        *command,
        *paths,
        "--dry-run",
        "--no-summary",
        "--no-snippets",
        "--format",
        "json",
        "--outfile",
        str(json_file),
    ]


def list_scenarios(
    task: Task, context: RunContext, argv: list[str], env: dict[str, str], attempt_dir: Path
) -> tuple[list[JsonFeature] | None, str]:
    """Features and scenarios from a dry run, or None and why behave could not list them."""
    json_file = attempt_dir / SCENARIOS_FILE
    log_path = attempt_dir / SCENARIOS_LOG
    result = run_process(
        argv,
        cwd=task.cwd,
        env=env,
        log_path=log_path,
        timeout=task.timeout,
        stop=context.stop,
        guard=context.guard,
        secrets=context.secrets,
    )
    if result.error is not None:
        return None, result.error
    if result.timed_out or result.cancelled:
        return None, "the dry run did not finish"
    try:
        return FEATURES.validate_json(json_file.read_bytes()), ""
    except OSError:
        return None, f"the dry run wrote no {SCENARIOS_FILE} (see {log_path})"
    except ValidationError:
        return None, f"the dry run's {json_file} is not behave's JSON (see {log_path})"


def select_scenarios(test_ids: Iterable[str], features: list[JsonFeature], cwd: Path) -> Selection:
    """The locations of `test_ids`, in the order of the features; ids without a scenario apart."""
    index = scenario_index(features, cwd)
    selection = Selection()
    for test_id in dict.fromkeys(test_ids):
        found = index.get(test_id)
        if found is None:
            selection.missing.append(test_id)
        else:
            selection.locations.extend(found)
    selection.locations = list(dict.fromkeys(selection.locations))
    return selection


def scenario_index(features: list[JsonFeature], cwd: Path) -> dict[str, list[str]]:
    """Every id a scenario can have in behave's JUnit → its absolute `file:line` locations.

    behave names a feature by its path relative to the path it was given (or to its base folder),
    so every dotted tail of the path is a possible id; a tail shared by two files selects both.
    """
    index: dict[str, list[str]] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for feature in features:
        path = location_path(feature.location)
        for element in feature.elements:
            if element.type != SCENARIO:
                continue
            key = (path, feature.name, element.name)
            seen[key] = seen.get(key, 0) + 1
            location = absolute_location(element.location, cwd)
            for test_id in possible_ids(path, feature.name, element.name, seen[key]):
                index.setdefault(test_id, []).append(location)
    return index


def possible_ids(path: str, feature: str, scenario: str, occurrence: int) -> list[str]:
    """`calculator.Calculator::Adding` and the longer `features.calculator.Calculator::Adding`."""
    suffix = f" #{occurrence}" if occurrence > 1 else ""
    return [f"{prefix}.{feature or prefix}::{scenario}{suffix}" for prefix in dotted_tails(path)]


def dotted_tails(path: str) -> list[str]:
    """`features/sub/a.feature` → `a`, `sub.a`, `features.sub.a`, as behave's JUnit names files."""
    pure = PurePosixPath(path.replace("\\", "/"))
    parts = [*pure.parent.parts, pure.name.rsplit(".", 1)[0]]
    parts = [part for part in parts if part not in ("/", "")]
    return [".".join(parts[start:]) for start in reversed(range(len(parts)))]


def location_path(location: str) -> str:
    """The file of a `file:line` location."""
    path, separator, line = location.rpartition(":")
    return path if separator and line.isdigit() else location


def absolute_location(location: str, cwd: Path) -> str:
    """`features/a.feature:12` made absolute against behave's folder, as `@file` entries must be."""
    return str(cwd / location)
