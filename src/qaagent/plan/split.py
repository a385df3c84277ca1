"""Splitting one suite into shards of about equal recorded duration.

pytest suites are split by node id: tests are collected once (with the scopes of the fixtures
they share and their markers), grouped so that tests sharing a package-, module- or class-scoped
fixture or a named marker stay together, and the groups are packed longest first onto the
least loaded shard. Parts forked before collection are packed by whole test files where that
keeps them balanced, each file weighing its tests and what it takes to collect. Playwright's
own test runner is split with its `--shard` option.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import statistics
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from qaagent.model.task import ForkParts, Task
from qaagent.plan.cost import UNKNOWN_STARTUP_SECONDS, SplitMode, choose_parts
from qaagent.plan.tasks import with_worker_slots
from qaagent.processes.captured import CommandTimedOut, run_captured

COLLECT_TIMEOUT = 300.0
COLLECT_VARIABLE = "QAAGENT_PYTEST_COLLECT"
COLLECTED_EXIT_CODES = (0, 5)
SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules"})
CONFIG_FILES = ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "conftest.py")
FORKABLE_KINDS = frozenset({"pytest"})
FILE_SLACK = 1.1


class CollectionError(Exception):
    """The suite's tests could not be listed; the suite then runs as one task."""


@dataclass(frozen=True)
class CollectedTest:
    """A test as collected: its node id, the scopes of shared fixtures it uses, its markers."""

    node_id: str
    scopes: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()


@dataclass
class SplitPlan:
    """Tasks to run (shards in place of split suites) and the expected seconds of each shard."""

    tasks: list[Task]
    expected: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)


def group_tests(tests: Sequence[CollectedTest], keep_together: Iterable[str]) -> list[list[str]]:
    """Node ids in groups that must share a shard, each group and its members in collection order.

    Tests using a package-scoped fixture share their package's group, a module-scoped one their
    module's, a class-scoped one their class's; tests carrying a named marker share that
    marker's group. Groups linked through any test are merged.
    """
    named = set(keep_together)
    parent = list(range(len(tests)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    for index, test in enumerate(tests):
        for key in _group_keys(test, named):
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    groups: dict[int, list[str]] = {}
    for index, test in enumerate(tests):
        groups.setdefault(root(index), []).append(test.node_id)
    return list(groups.values())


def _group_keys(test: CollectedTest, markers: set[str]) -> list[str]:
    """What ties a test to others: its package, module or class, and its named markers."""
    parts = test.node_id.split("::")
    module = parts[0]
    keys = []
    if "package" in test.scopes:
        keys.append("package:" + module.rpartition("/")[0])
    if "module" in test.scopes:
        keys.append("module:" + module)
    if "class" in test.scopes:
        keys.append("class:" + "::".join(parts[:-1]))
    keys += ["marker:" + marker for marker in test.markers if marker in markers]
    return keys


def weigh_tests(node_ids: Sequence[str], recorded: Mapping[str, float]) -> dict[str, float]:
    """Expected seconds per test: recorded, else the median of the recorded; 1 each without any."""
    known = [recorded[node_id] for node_id in node_ids if node_id in recorded]
    fallback = statistics.median(known) if known else 1.0
    return {node_id: recorded.get(node_id, fallback) for node_id in node_ids}


def partition(
    groups: Sequence[Sequence[str]], weights: Mapping[str, float], shards: int
) -> list[list[str]]:
    """Groups packed onto `shards` bins, heaviest group first onto the lightest bin.

    Longest processing time first keeps the heaviest bin within 4/3 of the best packing. Each
    bin lists its node ids in collection order; empty bins are dropped.
    """
    position = {node_id: index for index, group in enumerate(groups) for node_id in group}
    ranked = sorted(groups, key=lambda group: -sum(weights[node_id] for node_id in group))
    bins: list[list[str]] = [[] for _ in range(shards)]
    loads = [0.0] * shards
    for group in ranked:
        lightest = loads.index(min(loads))
        bins[lightest].extend(group)
        loads[lightest] += sum(weights[node_id] for node_id in group)
    return [sorted(node_ids, key=position.__getitem__) for node_ids in bins if node_ids]


def partition_by_file(
    groups: Sequence[Sequence[str]],
    weights: Mapping[str, float],
    collection: Mapping[str, float],
    shards: int,
) -> list[list[str]]:
    """Whole test files where they fit, unless that leaves the heaviest bin more than
    `FILE_SLACK` heavier than the groups' packing by `partition`; a bin weighs its tests and
    the collection of its files.

    A part forked before collection imports and collects only the files of its own tests, so
    whole files spare each part the others' collection; `collection` holds the recorded
    seconds each file takes to collect.
    """
    by_test = partition(groups, weights, shards)
    by_file = _pack_files(files_of(groups), weights, collection, shards)
    heaviest_by_file = heaviest_load(by_file, weights, collection)
    if heaviest_by_file <= FILE_SLACK * heaviest_load(by_test, weights, collection):
        return by_file
    return by_test


def _pack_files(
    files: Sequence[Sequence[Sequence[str]]],
    weights: Mapping[str, float],
    collection: Mapping[str, float],
    shards: int,
) -> list[list[str]]:
    """Files heaviest first onto the lightest bin while they fit its fair share (with
    `FILE_SLACK`); a file that does not fit by more than its collection, which each part it
    is split onto pays again, is packed group by group instead."""
    position = {node_id: index for index, node_id in enumerate(weights)}
    every_file = {_file_of(node_id) for node_id in weights}
    total = sum(weights.values()) + sum(collection.get(file, 0.0) for file in every_file)
    fair = total / shards * FILE_SLACK
    queue = [(-_cost(file, weights, collection), index, file) for index, file in enumerate(files)]
    heapq.heapify(queue)
    bins: list[list[str]] = [[] for _ in range(shards)]
    loads = [0.0] * shards
    collected: list[set[str]] = [set() for _ in range(shards)]
    while queue:
        _, index, file = heapq.heappop(queue)
        lightest = loads.index(min(loads))
        names = {_file_of(node_id) for group in file for node_id in group} - collected[lightest]
        again = sum(collection.get(name, 0.0) for name in names)
        added = _cost(file, weights, {}) + again
        if len(file) > 1 and loads[lightest] + added > fair + again:
            for group in file:
                heapq.heappush(queue, (-_cost([group], weights, {}), index, [group]))
            continue
        bins[lightest].extend(node_id for group in file for node_id in group)
        loads[lightest] += added
        collected[lightest] |= names
    return [sorted(node_ids, key=position.__getitem__) for node_ids in bins if node_ids]


def _cost(
    groups: Sequence[Sequence[str]], weights: Mapping[str, float], collection: Mapping[str, float]
) -> float:
    """The expected seconds of some groups together: their tests, and collecting their files."""
    return bin_load([node_id for group in groups for node_id in group], weights, collection)


def bin_load(
    node_ids: Sequence[str], weights: Mapping[str, float], collection: Mapping[str, float]
) -> float:
    """A part's expected seconds: its tests, and collecting each file they are in once."""
    files = {_file_of(node_id) for node_id in node_ids}
    return sum(weights[node_id] for node_id in node_ids) + sum(
        collection.get(file, 0.0) for file in files
    )


def heaviest_load(
    bins: Sequence[Sequence[str]], weights: Mapping[str, float], collection: Mapping[str, float]
) -> float:
    """The expected seconds of the heaviest bin."""
    return max((bin_load(node_ids, weights, collection) for node_ids in bins), default=0.0)


def files_of(groups: Sequence[Sequence[str]]) -> list[list[list[str]]]:
    """The groups of each test file, in collection order; a group across files joins them."""
    merged: list[list[list[str]]] = []
    home: dict[str, int] = {}
    for group in groups:
        files = {_file_of(node_id) for node_id in group}
        homes = sorted({home[file] for file in files if file in home})
        target = homes[0] if homes else len(merged)
        if not homes:
            merged.append([])
        for other in homes[1:]:
            merged[target].extend(merged[other])
            merged[other] = []
        merged[target].append(list(group))
        joined = {_file_of(node_id) for member in merged[target] for node_id in member}
        home.update(dict.fromkeys(joined, target))
    return [file for file in merged if file]


def _file_of(node_id: str) -> str:
    """The test file of a node id."""
    return node_id.partition("::")[0]


def shard_count(split: int | str, workers: int) -> int:
    """`auto` is one shard per worker; a number is taken up to the worker count."""
    return workers if split == "auto" else min(int(split), workers)


def shard_name(task: Task, number: int, total: int) -> str:
    """`unit[shard=2/4]`."""
    return f"{task.name}[shard={number}/{total}]"


def node_id_shards(
    task: Task, node_ids: Sequence[Sequence[str]], weights: Mapping[str, float], open_last: bool
) -> list[Task]:
    """One task per bin of node ids; with `open_last`, the lightest runs all but the others' ids.

    The open shard also runs any test added since the ids were listed, so none is ever missed.
    """
    total = len(node_ids)
    loads = [sum(weights[node_id] for node_id in ids) for ids in node_ids]
    open_index = loads.index(min(loads)) if open_last else None
    shards = []
    for index, ids in enumerate(node_ids):
        if index == open_index:
            others = tuple(node_id for other in node_ids if other is not ids for node_id in other)
            update: dict[str, object] = {"excluded_tests": others, "selected_tests": ()}
        else:
            update = {"selected_tests": tuple(ids)}
        shards.append(
            task.model_copy(
                update={**update, "name": shard_name(task, index + 1, total), "shard_of": task.name}
            )
        )
    return shards


def playwright_shards(task: Task, count: int) -> list[Task]:
    """Playwright Test's own `--shard=i/N`, which divides the tests by count."""
    return [
        task.model_copy(
            update={
                "name": shard_name(task, number, count),
                "shard_of": task.name,
                "args": (*task.args, f"--shard={number}/{count}"),
            }
        )
        for number in range(1, count + 1)
    ]


def collect_tests(task: Task, env: Mapping[str, str]) -> list[CollectedTest]:
    """The suite's tests as pytest collects them with the suite's own path, arguments and folder.

    Collection runs on one worker, so `{workers}` is 1 there. pytest's exit code 5 says it collected no test, which is an empty list, not a failure.
    """
    from qaagent.tools.pytest_tool import PLUGIN, PLUGIN_DIR, pytest_command

    (task,) = with_worker_slots([task], 1)
    argv = [*pytest_command(task)]
    if task.path is not None:
        argv.append(str(task.path))
    argv += [*task.args, *task.cli_args, "--collect-only", "-q", "-p", PLUGIN]
    inherited = {**os.environ, **env, **task.env}
    pythonpath = os.pathsep.join(
        part for part in (str(PLUGIN_DIR), inherited.get("PYTHONPATH", "")) if part
    )
    with tempfile.TemporaryDirectory(prefix="qaagent-collect-") as folder:
        listing = Path(folder) / "collected.jsonl"
        try:
            completed = run_captured(
                argv,
                cwd=task.cwd,
                env={**inherited, "PYTHONPATH": pythonpath, COLLECT_VARIABLE: str(listing)},
                timeout=COLLECT_TIMEOUT,
            )
        except CommandTimedOut as error:
            raise CollectionError(f"pytest --collect-only {error}") from None
        except OSError as error:
            raise CollectionError(str(error)) from None
        if completed.exit_code not in COLLECTED_EXIT_CODES or not listing.exists():
            reason = telling_line(completed.stdout + completed.stderr)
            raise CollectionError(f"pytest --collect-only exited {completed.exit_code}: {reason}")
        return [_collected(json.loads(line)) for line in listing.read_text("utf-8").splitlines()]


def telling_line(output: str) -> str:
    """The last line of pytest's output that names an error, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1]


def _collected(data: Mapping[str, object]) -> CollectedTest:
    scopes, markers = data.get("scopes", []), data.get("markers", [])
    return CollectedTest(
        node_id=str(data["nodeid"]),
        scopes=tuple(str(scope) for scope in scopes) if isinstance(scopes, list) else (),
        markers=tuple(str(marker) for marker in markers) if isinstance(markers, list) else (),
    )


def source_fingerprint(task: Task) -> str:
    """A digest of the suite's command and of every file its collection could depend on.

    Sizes and modification times of the files under the suite's path, and the pytest
    configuration files of its working folder, so any edit means collecting again.
    """
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [
                task.kind,
                str(task.path),
                str(task.cwd),
                task.command,
                task.args,
                task.cli_args,
                task.env,
            ],
            sort_keys=True,
        ).encode()
    )
    roots = [task.path] if task.path is not None else [task.cwd]
    files = [task.cwd / name for name in CONFIG_FILES]
    for root in roots:
        files += _files_under(root)
    for path in sorted(set(files)):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _files_under(root: Path) -> list[Path]:
    """Every file below `root`, leaving out hidden folders, caches and node_modules."""
    if root.is_file():
        return [root]
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [
            name for name in subfolders if not name.startswith(".") and name not in SKIPPED_FOLDERS
        ]
        found += [Path(folder) / name for name in names]
    return found


def cached_collection(
    task: Task, env: Mapping[str, str], cache_dir: Path
) -> tuple[list[CollectedTest], bool]:
    """The collected tests, reused while the suite's files are unchanged; True when reused."""
    fingerprint = source_fingerprint(task)
    cache = cache_dir / (hashlib.sha256(task.name.encode()).hexdigest()[:16] + ".json")
    try:
        stored = json.loads(cache.read_text("utf-8"))
        if stored.get("fingerprint") == fingerprint:
            return [_collected(item) for item in stored["tests"]], True
    except (OSError, ValueError, KeyError, TypeError):
        pass
    tests = collect_tests(task, env)
    cache_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "fingerprint": fingerprint,
        "tests": [
            {"nodeid": test.node_id, "scopes": list(test.scopes), "markers": list(test.markers)}
            for test in tests
        ],
    }
    partial = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(payload), encoding="utf-8")
    partial.replace(cache)
    return tests, False


def split_tasks(
    tasks: Sequence[Task], workers: int, runs_dir: Path, env: Mapping[str, str]
) -> SplitPlan:
    """Every task with `split` replaced by its shards; the others as they are."""
    plan = SplitPlan(tasks=[])
    for task in tasks:
        count = shard_count(task.split, workers) if task.split is not None else 1
        if count < 2:
            plan.tasks.append(task)
        elif task.kind == "playwright-node":
            plan.tasks += [task] if task.selected_tests else playwright_shards(task, count)
        else:
            try:
                plan.tasks += _split_by_node_id(task, count, runs_dir, env, plan)
            except CollectionError as error:
                plan.notes.append(
                    f"{task.name}: not split, its tests could not be listed ({error})"
                )
                plan.tasks.append(task)
    return plan


def split_lines(
    tasks: Sequence[Task], workers: int, runs_dir: Path, env: Mapping[str, str]
) -> list[str]:
    """What each split suite will run as: its mode, and the parts chosen with the expected times."""
    split = [task for task in tasks if task.split is not None]
    if not split:
        return []
    plan = split_tasks(split, workers, runs_dir, env)
    lines = [f"{task.name}: split, {split_mode(task)} mode" for task in split]
    lines = [
        line + (f"; {plan.choices[task.name]}" if task.name in plan.choices else "")
        for task, line in zip(split, lines, strict=True)
    ]
    return lines + plan.notes


def split_mode(task: Task) -> SplitMode:
    """Fork after one collection where the suite asks for it, its tool allows it and it is Linux."""
    from qaagent.tools.pytest_fork import fork_supported

    forkable = task.kind in FORKABLE_KINDS and fork_supported()
    return "fork" if task.split_mode == "fork" and forkable else "processes"


def cores() -> int:
    """The cores parts could run on, which caps the parts the cost model chooses."""
    return os.cpu_count() or 1


def _split_by_node_id(
    task: Task, count: int, runs_dir: Path, env: Mapping[str, str], plan: SplitPlan
) -> list[Task]:
    """Shards of a pytest-collected suite, its forked parts, or the task alone when it pays."""
    from qaagent.evidence.history import (
        known_collection_seconds,
        known_startup_seconds,
        known_test_durations,
    )
    from qaagent.tools.pytest_tool import selected_node_ids

    if task.selected_tests:
        tests = [CollectedTest(node_id) for node_id in selected_node_ids(task.selected_tests)]
        open_last = False
    else:
        tests, _ = cached_collection(task, env, runs_dir / ".collected")
        open_last = True
    groups = group_tests(tests, task.split_keep_together)
    most = min(count, len(groups))
    if most < 2:
        return [task]
    recorded = known_test_durations(runs_dir, task.name)
    weights = weigh_tests([test.node_id for test in tests], recorded)
    mode = split_mode(task)
    known = any(test.node_id in recorded for test in tests)
    if known:
        startup = known_startup_seconds(runs_dir, task.name) or UNKNOWN_STARTUP_SECONDS
        collection = known_collection_seconds(runs_dir, task.name) if mode == "fork" else {}
        if mode == "fork":
            pack = partial(partition_by_file, groups, weights, collection)
        else:
            pack = partial(partition, groups, weights)
        load = partial(bin_load, weights=weights, collection=collection)
        choice = choose_parts(pack, load, startup, min(most, cores()), mode)
        plan.choices[task.name] = choice.describe()
        plan.expected[task.name] = choice.expected[choice.parts]
        if choice.parts < 2:
            return [task]
        bins = choice.bins
    else:
        bins = partition(groups, weights, most)
        plan.choices[task.name] = f"{len(bins)} parts ({mode}): no recorded durations"
    if mode == "fork":
        return [fork_task(task, bins, None if known else groups)]
    shards = node_id_shards(task, bins, weights, open_last)
    if known:
        for shard, node_ids in zip(shards, bins, strict=True):
            plan.expected[shard.name] = sum(weights[node_id] for node_id in node_ids)
    return shards


def fork_task(
    task: Task, bins: Sequence[Sequence[str]], stealing: Sequence[Sequence[str]] | None
) -> Task:
    """The suite as one task whose pytest forks a child per part.

    Each part collects and runs its bin, or, given the groups to steal, takes whole groups of
    the one collection as it frees up.
    The task's timeout leaves the parent time to kill a part that outlives the suite's own
    timeout and to report it.
    """
    from qaagent.tools.pytest_fork import FORK_GRACE

    labels = tuple(shard_name(task, number, len(bins)) for number in range(1, len(bins) + 1))
    fork = ForkParts(
        labels=labels,
        tests=tuple(tuple(node_ids) for node_ids in bins) if stealing is None else None,
        groups=() if stealing is None else tuple(tuple(group) for group in stealing),
        timeout=task.timeout,
    )
    timeout = None if task.timeout is None else task.timeout + FORK_GRACE
    return task.model_copy(update={"fork": fork, "timeout": timeout})
