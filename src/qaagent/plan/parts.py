"""CI parts: the plan divided into N shares of about equal recorded duration, one per CI job.

A pytest suite is divided by node id the way `split` divides it across workers (its tests
collected once, grouped by shared fixture scope, packed longest first); a suite that cannot be
divided (behave, Playwright, command) goes to one part whole. Units with a recorded duration
are packed first, heaviest first onto the lightest part; units never seen are then dealt out so
that every part gets as many of them as the others. Ties are broken by name, so the same
profile and the same durations give the same shares on every machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qaagent.errors import UsageError
from qaagent.evidence.models import PartEntry
from qaagent.model.task import Task
from qaagent.plan.split import CollectedTest, group_tests, weigh_tests

TASK_KEY_PREFIX = "qaagent:task:"
DIVISIBLE_KINDS = frozenset({"pytest"})

Share = dict[str, list[str] | None]
"""Task name → the node ids it runs in this part, or None for the whole task."""

Collect = Callable[[Task], list[CollectedTest] | None]
"""A pytest task's tests, or None when they cannot be listed (the task then stays whole)."""


@dataclass(frozen=True)
class PartSpec:
    """`--part 2/3`: this job runs the second of three shares."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_part(text: str, where: str = "--part") -> PartSpec:
    """`I/N` with 1 ≤ I ≤ N; anything else is a usage error naming where it came from."""
    index, separator, total = text.strip().partition("/")
    try:
        spec = PartSpec(int(index), int(total))
    except ValueError:
        spec = None
    if not separator or spec is None or not 1 <= spec.index <= spec.total:
        raise UsageError(f"{where} {text!r}: give I/N, this job's part I of N, e.g. 2/3.")
    return spec


@dataclass(frozen=True)
class PartRequest:
    """What `run-all --part` asked for: which part, and the durations or saved plan to use."""

    spec: PartSpec
    durations_file: Path | None = None
    plan_file: Path | None = None


@dataclass(frozen=True)
class Durations:
    """Recorded seconds: of tasks, of tests by node id (a file), or of tests per task (history)."""

    tasks: Mapping[str, float] = field(default_factory=dict)
    tests: Mapping[str, float] = field(default_factory=dict)
    tests_by_task: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def of_tests(self, task: str) -> Mapping[str, float]:
        """The recorded seconds of one task's tests."""
        return self.tests_by_task.get(task, self.tests)


def durations_document(
    tests_by_task: Mapping[str, Mapping[str, float]], tasks: Mapping[str, float]
) -> dict[str, float]:
    """The durations file: `{node id: seconds}` as pytest-split reads it, tasks under a prefix.

    A node id recorded for several tasks (a matrix) keeps its longest duration.
    """
    tests: dict[str, float] = {}
    for recorded in tests_by_task.values():
        for node_id, seconds in recorded.items():
            tests[node_id] = max(seconds, tests.get(node_id, 0.0))
    document = {node_id: round(seconds, 6) for node_id, seconds in tests.items()}
    document |= {TASK_KEY_PREFIX + name: round(seconds, 6) for name, seconds in tasks.items()}
    return dict(sorted(document.items()))


def read_durations(path: Path) -> Durations:
    """A durations file; one that cannot be read or holds a non-number is a usage error."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: the durations file cannot be read ({error}).") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a durations file is one JSON object of test id → seconds.")
    tests: dict[str, float] = {}
    tasks: dict[str, float] = {}
    for key, seconds in data.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise UsageError(f"{path}: {key!r} has {seconds!r}; durations are seconds (≥ 0).")
        if key.startswith(TASK_KEY_PREFIX):
            tasks[key.removeprefix(TASK_KEY_PREFIX)] = float(seconds)
        else:
            tests[key] = float(seconds)
    return Durations(tasks=tasks, tests=tests)


@dataclass(frozen=True)
class Unit:
    """What goes to one part whole: a group of a pytest task's tests, or a whole task."""

    task: str
    tests: tuple[str, ...]
    seconds: float | None

    @property
    def name(self) -> str:
        """The task and its first node id, which breaks ties between equal units."""
        return f"{self.task}\0{self.tests[0]}" if self.tests else self.task

    @property
    def size(self) -> int:
        """Tests it holds; a whole task counts as one."""
        return max(1, len(self.tests))


def units_of(task: Task, durations: Durations, collect: Collect) -> list[Unit]:
    """A pytest task's groups of tests, or the task as one unit where it cannot be divided."""
    whole = [Unit(task.name, (), durations.tasks.get(task.name))]
    if task.kind not in DIVISIBLE_KINDS:
        return whole
    tests = collect(task)
    if not tests:
        return whole
    recorded = durations.of_tests(task.name)
    weights = weigh_tests([test.node_id for test in tests], recorded)
    units = []
    for group in group_tests(tests, task.split_keep_together):
        seen = any(node_id in recorded for node_id in group)
        seconds = sum(weights[node_id] for node_id in group) if seen else None
        units.append(Unit(task.name, tuple(group), seconds))
    return units


def divide(units: Sequence[Unit], total: int) -> list[list[Unit]]:
    """Units on `total` parts: recorded ones longest first onto the lightest part, then the rest
    dealt one at a time to the part with the fewest unrecorded tests.

    Ties go to the part with fewer tests, then the first; units of equal weight go by name.
    """
    parts: list[list[Unit]] = [[] for _ in range(total)]
    loads = [0.0] * total
    sizes = [0] * total
    unseen = [0] * total
    recorded = sorted(
        (unit for unit in units if unit.seconds is not None),
        key=lambda unit: (-(unit.seconds or 0.0), unit.name),
    )
    for unit in recorded:
        index = min(range(total), key=lambda part: (loads[part], sizes[part], part))
        parts[index].append(unit)
        loads[index] += unit.seconds or 0.0
        sizes[index] += unit.size
    for unit in sorted((unit for unit in units if unit.seconds is None), key=lambda u: u.name):
        index = min(range(total), key=lambda part: (unseen[part], sizes[part], part))
        parts[index].append(unit)
        unseen[index] += unit.size
        sizes[index] += unit.size
    return parts


def shares_of(tasks: Sequence[Task], parts: Sequence[Sequence[Unit]]) -> list[Share]:
    """Each part's tasks; a task all of whose tests fall in one part runs whole there."""
    homes: dict[str, set[int]] = {}
    for index, units in enumerate(parts):
        for unit in units:
            homes.setdefault(unit.task, set()).add(index)
    shares: list[Share] = [{} for _ in parts]
    for task in tasks:
        tests_by_part: dict[int, list[str]] = {}
        for index, units in enumerate(parts):
            for unit in units:
                if unit.task == task.name:
                    tests_by_part.setdefault(index, []).extend(unit.tests)
        for index, node_ids in tests_by_part.items():
            whole = len(homes[task.name]) == 1 or not node_ids
            shares[index][task.name] = None if whole else node_ids
    return shares


@dataclass(frozen=True)
class PartsPlan:
    """The shares of every part, their expected seconds, and the digest that names the plan."""

    shares: list[Share]
    seconds: list[float]

    @property
    def total(self) -> int:
        """How many parts."""
        return len(self.shares)

    @property
    def digest(self) -> str:
        """sha256 of the shares as canonical JSON: the same shares, the same digest."""
        return digest_of(self.shares)

    def part(self, spec: PartSpec) -> PartEntry:
        """The manifest's record of one part of this plan."""
        return PartEntry(index=spec.index, total=spec.total, digest=self.digest)

    def to_json(self) -> dict[str, object]:
        """What `qaagent plan -o` saves and `run-all --plan` reads."""
        return {
            "total": self.total,
            "digest": self.digest,
            "parts": [
                {"index": index + 1, "expected_seconds": round(seconds, 3), "tasks": share}
                for index, (share, seconds) in enumerate(
                    zip(self.shares, self.seconds, strict=True)
                )
            ],
        }


def digest_of(shares: Sequence[Share]) -> str:
    """sha256 of `[{task: node ids or null}, ...]` with sorted keys and no spaces."""
    canonical = json.dumps(list(shares), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def plan_parts(
    tasks: Sequence[Task], total: int, durations: Durations, collect: Collect
) -> PartsPlan:
    """The tasks divided into `total` shares."""
    units = [unit for task in tasks for unit in units_of(task, durations, collect)]
    parts = divide(units, total)
    seconds = [sum(unit.seconds or 0.0 for unit in units) for units in parts]
    return PartsPlan(shares_of(tasks, parts), seconds)


def read_parts_plan(path: Path) -> PartsPlan:
    """A plan saved by `qaagent plan -o`; one that is unreadable or altered is a usage error."""
    try:
        data = json.loads(path.read_text("utf-8"))
        shares = [dict(part["tasks"]) for part in data["parts"]]
        seconds = [float(part.get("expected_seconds", 0.0)) for part in data["parts"]]
        digest = str(data["digest"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{path}: not a plan saved by `qaagent plan -o` ({error}).") from None
    plan = PartsPlan(shares, seconds)
    if plan.digest != digest:
        raise UsageError(
            f"{path}: its parts do not match its digest {digest[:12]}; save the plan again."
        )
    return plan


def apply_share(tasks: Sequence[Task], share: Share, where: str) -> list[Task]:
    """The tasks of one share, each pytest task limited to its node ids; in the tasks' order."""
    known = {task.name for task in tasks}
    unknown = sorted(set(share) - known)
    if unknown:
        raise UsageError(
            f"{where} names task {unknown[0]!r}, which this profile's selection does not have; "
            "run with the profile, --suite and --skip the plan was made with."
        )
    chosen = []
    for task in tasks:
        if task.name not in share:
            continue
        node_ids = share[task.name]
        chosen.append(
            task
            if node_ids is None
            else task.model_copy(update={"selected_tests": tuple(node_ids)})
        )
    return chosen
