"""The cost model: the part count with the least expected wall time, from recorded durations."""

from __future__ import annotations

from functools import partial

import pytest
from test_orchestrator import make_task

from qaagent.plan.cost import FORK_PART_SECONDS, SplitMode, choose_parts, expected_wall
from qaagent.plan.split import bin_load, partition, partition_by_file, split_mode


def choice_for(durations: list[float], startup: float, most: int, mode: SplitMode) -> int:
    """Parts chosen for tests of these recorded durations, each test a group of its own."""
    weights = {f"tests/test_a.py::test_{index}": seconds for index, seconds in enumerate(durations)}
    groups = [[node_id] for node_id in weights]
    return choose_parts(
        lambda parts: partition(groups, weights, parts),
        partial(bin_load, weights=weights, collection={}),
        startup,
        most,
        mode,
    ).parts


def test_cpu_bound_tests_use_every_core_when_forking() -> None:
    assert choice_for([1.0] * 16, startup=0.5, most=4, mode="fork") == 4


def test_tiny_tests_behind_a_long_start_up_run_as_one_part() -> None:
    assert choice_for([0.001] * 200, startup=2.0, most=4, mode="processes") == 1


def test_separate_processes_stop_where_another_start_up_costs_more_than_it_saves() -> None:
    assert choice_for([1.0] * 8, startup=2.0, most=4, mode="processes") == 2
    assert choice_for([1.0] * 8, startup=2.0, most=4, mode="fork") == 4


def test_never_more_parts_than_tests() -> None:
    assert choice_for([5.0, 5.0], startup=0.1, most=8, mode="fork") == 2


def test_one_long_test_bounds_the_gain_so_fewer_parts_suffice() -> None:
    assert choice_for([10.0, 1.0, 1.0, 1.0], startup=0.2, most=4, mode="fork") == 2


def test_expected_wall_is_one_start_up_the_heaviest_part_and_each_further_part() -> None:
    assert expected_wall([3.0, 2.0], startup=1.0, mode="fork") == pytest.approx(
        4.0 + FORK_PART_SECONDS
    )
    assert expected_wall([3.0, 2.0], startup=1.0, mode="processes") == pytest.approx(5.0)


def test_describe_names_the_count_the_mode_and_each_expected_time() -> None:
    weights = {"a": 2.0, "b": 2.0}
    choice = choose_parts(
        lambda parts: partition([["a"], ["b"]], weights, parts),
        partial(bin_load, weights=weights, collection={}),
        1.0,
        2,
        "fork",
    )
    assert choice.describe() == "2 parts (fork): expected 1 part 5.0s, 2 parts 3.0s; start-up 1.0s"


def test_fork_mode_needs_a_pytest_suite_that_did_not_ask_for_processes() -> None:
    assert split_mode(make_task("unit", kind="pytest")) == "fork"
    assert split_mode(make_task("unit", kind="pytest", split_mode="processes")) == "processes"
    assert split_mode(make_task("e2e", kind="playwright-node")) == "processes"


def test_collection_recorded_per_file_counts_in_the_parts_and_shares_out_the_files() -> None:
    weights = {
        "t/heavy.py::test_a": 0.3,
        "t/heavy.py::test_b": 0.3,
        "t/other.py::test_c": 0.4,
        "t/light.py::test_d": 0.4,
    }
    collection = {"t/heavy.py": 0.6, "t/other.py": 0.1, "t/light.py": 0.1}
    groups = [[node_id] for node_id in weights]
    choice = choose_parts(
        lambda parts: partition_by_file(groups, weights, collection, parts),
        partial(bin_load, weights=weights, collection=collection),
        0.2,
        2,
        "fork",
    )
    assert choice.parts == 2
    assert sorted(choice.bins) == [
        ["t/heavy.py::test_a", "t/heavy.py::test_b"],
        ["t/other.py::test_c", "t/light.py::test_d"],
    ]
    assert choice.expected[1] == pytest.approx(0.2 + 1.4 + 0.8)
    assert choice.expected[2] == pytest.approx(0.2 + 1.2 + FORK_PART_SECONDS)
