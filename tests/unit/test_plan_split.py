"""Splitting a suite into shards of equal recorded duration, keeping groups together."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_orchestrator import make_task

from qaagent.plan.split import (
    CollectedTest,
    files_of,
    group_tests,
    heaviest_load,
    node_id_shards,
    partition,
    partition_by_file,
    shard_count,
    weigh_tests,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def ids(module: str, count: int) -> list[str]:
    return [f"tests/{module}.py::test_{index}" for index in range(count)]


def loads(bins: list[list[str]], weights: dict[str, float]) -> list[float]:
    return [sum(weights[node_id] for node_id in node_ids) for node_ids in bins]


def test_shards_have_about_equal_recorded_duration() -> None:
    node_ids = ids("a", 10) + ids("b", 10) + ids("c", 10)
    recorded = {node_id: 0.1 + (index % 7) * 0.9 for index, node_id in enumerate(node_ids)}
    weights = weigh_tests(node_ids, recorded)
    bins = partition([[node_id] for node_id in node_ids], weights, 4)
    sums = loads(bins, weights)
    assert len(bins) == 4
    assert sorted(node_id for node_ids in bins for node_id in node_ids) == sorted(node_ids)
    assert max(sums) - min(sums) <= max(weights.values())


def test_one_long_test_gets_a_shard_of_its_own() -> None:
    node_ids = ["t::long", *ids("short", 6)]
    weights = weigh_tests(node_ids, {"t::long": 6.0, **dict.fromkeys(ids("short", 6), 1.0)})
    bins = partition([[node_id] for node_id in node_ids], weights, 2)
    assert ["t::long"] in bins
    assert sorted(loads(bins, weights)) == [6.0, 6.0]


def test_tests_without_history_get_the_median_and_spread_evenly_without_any() -> None:
    weights = weigh_tests(["a", "b", "c", "new"], {"a": 1.0, "b": 2.0, "c": 9.0})
    assert weights["new"] == 2.0
    even = weigh_tests(ids("m", 8), {})
    bins = partition([[node_id] for node_id in ids("m", 8)], even, 4)
    assert [len(node_ids) for node_ids in bins] == [2, 2, 2, 2]


def test_forked_parts_get_whole_files_when_that_costs_little_balance() -> None:
    node_ids = ids("a", 4) + ids("b", 4) + ids("c", 2) + ids("d", 2)
    weights = weigh_tests(node_ids, {})
    bins = partition_by_file([[node_id] for node_id in node_ids], weights, {}, 2)
    files = [{node_id.partition("::")[0] for node_id in node_ids} for node_ids in bins]
    assert sorted(map(sorted, files)) == [
        ["tests/a.py", "tests/c.py"],
        ["tests/b.py", "tests/d.py"],
    ]
    assert loads(bins, weights) == [6.0, 6.0]


def test_forked_parts_split_only_the_file_that_would_unbalance_them() -> None:
    node_ids = ids("big", 6) + ids("x", 2) + ids("y", 2)
    weights = weigh_tests(node_ids, {})
    bins = partition_by_file([[node_id] for node_id in node_ids], weights, {}, 2)
    assert loads(bins, weights) == [5.0, 5.0]
    for whole in (ids("x", 2), ids("y", 2)):
        assert sum(1 for node_ids in bins if set(node_ids) & set(whole)) == 1
    assert all(set(node_ids) & set(ids("big", 6)) for node_ids in bins)


def test_forked_parts_balance_what_each_file_costs_to_collect() -> None:
    weights = {
        "t/a.py::x": 1.0,
        "t/b.py::x": 1.0,
        "t/c.py::x": 0.5,
        "t/d.py::x": 0.5,
        "t/e.py::x": 0.3,
    }
    collection = {"t/a.py": 0.6}
    groups = [[node_id] for node_id in weights]
    blind = partition_by_file(groups, weights, {}, 2)
    aware = partition_by_file(groups, weights, collection, 2)
    assert heaviest_load(blind, weights, collection) == pytest.approx(2.4)
    assert heaviest_load(aware, weights, collection) == pytest.approx(2.0)


def test_groups_of_a_file_stay_apart_and_a_group_across_files_joins_them() -> None:
    groups = [
        ["t/a.py::x"],
        ["t/b.py::y"],
        ["t/a.py::z"],
        ["t/c.py::w", "t/b.py::v"],
        ["t/d.py::u"],
    ]
    assert files_of(groups) == [
        [["t/a.py::x"], ["t/a.py::z"]],
        [["t/b.py::y"], ["t/c.py::w", "t/b.py::v"]],
        [["t/d.py::u"]],
    ]


def test_a_module_scoped_fixture_keeps_its_module_in_one_shard() -> None:
    shared = [CollectedTest(node_id, scopes=("module",)) for node_id in ids("db", 4)]
    alone = [CollectedTest(node_id) for node_id in ids("unit", 4)]
    groups = group_tests(shared + alone, [])
    assert ids("db", 4) in groups
    assert len(groups) == 5
    bins = partition(groups, weigh_tests(ids("db", 4) + ids("unit", 4), {}), 3)
    assert sum(1 for node_ids in bins if set(node_ids) & set(ids("db", 4))) == 1


def test_a_class_scoped_fixture_keeps_only_its_class_together() -> None:
    tests = [
        CollectedTest("tests/a.py::TestX::test_1", scopes=("class",)),
        CollectedTest("tests/a.py::TestX::test_2", scopes=("class",)),
        CollectedTest("tests/a.py::TestY::test_1", scopes=("class",)),
        CollectedTest("tests/a.py::test_free"),
    ]
    groups = group_tests(tests, [])
    assert ["tests/a.py::TestX::test_1", "tests/a.py::TestX::test_2"] in groups
    assert len(groups) == 3


def test_a_named_marker_keeps_its_tests_together_across_modules() -> None:
    tests = [
        CollectedTest("tests/a.py::test_1", markers=("serial",)),
        CollectedTest("tests/a.py::test_2"),
        CollectedTest("tests/b.py::test_1", markers=("serial", "slow")),
        CollectedTest("tests/c.py::test_1", markers=("slow",)),
    ]
    groups = group_tests(tests, ["serial"])
    assert ["tests/a.py::test_1", "tests/b.py::test_1"] in groups
    assert len(groups) == 3


def test_the_open_shard_runs_everything_the_others_do_not() -> None:
    task = make_task("unit", kind="pytest")
    bins = [ids("a", 3), ids("b", 2)]
    weights = weigh_tests(ids("a", 3) + ids("b", 2), {})
    shards = node_id_shards(task, bins, weights, open_last=True)
    assert [shard.name for shard in shards] == ["unit[shard=1/2]", "unit[shard=2/2]"]
    assert {shard.shard_of for shard in shards} == {"unit"}
    assert shards[0].selected_tests == tuple(ids("a", 3))
    assert shards[1].selected_tests == ()
    assert shards[1].excluded_tests == tuple(ids("a", 3))


def test_never_more_shards_than_workers() -> None:
    assert shard_count(8, 2) == 2
    assert shard_count(3, 4) == 3
    assert shard_count("auto", 4) == 4


def test_a_forked_suite_is_one_task_with_its_parts_and_time_to_report_a_hung_one() -> None:
    from qaagent.plan.split import fork_task
    from qaagent.tools.pytest_fork import FORK_GRACE

    task = make_task("unit", kind="pytest", timeout=60.0)
    bins = [ids("a", 2), ids("b", 1)]
    fixed = fork_task(task, bins, None)
    assert fixed.name == "unit"
    assert fixed.fork is not None
    assert fixed.fork.labels == ("unit[shard=1/2]", "unit[shard=2/2]")
    assert fixed.fork.tests == (tuple(ids("a", 2)), tuple(ids("b", 1)))
    assert (fixed.fork.timeout, fixed.timeout) == (60.0, 60.0 + FORK_GRACE)
    stealing = fork_task(task, bins, [ids("a", 2), ids("b", 1)])
    assert stealing.fork is not None
    assert stealing.fork.tests is None
    assert stealing.fork.groups == (tuple(ids("a", 2)), tuple(ids("b", 1)))
