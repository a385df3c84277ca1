"""CI parts: shares of a plan by recorded durations, the same on every machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qaagent.errors import UsageError
from qaagent.model.task import SuiteKind, Task
from qaagent.plan.parts import (
    TASK_KEY_PREFIX,
    Durations,
    PartsPlan,
    apply_share,
    digest_of,
    durations_document,
    parse_part,
    plan_parts,
    read_durations,
    read_parts_plan,
)
from qaagent.plan.split import CollectedTest

MODULES = {"tests/test_a.py": 4, "tests/test_b.py": 4, "tests/test_c.py": 4}
NODE_IDS = [
    f"{module}::test_{index}" for module, count in MODULES.items() for index in range(count)
]


def task(name: str, kind: SuiteKind = "pytest") -> Task:
    return Task(name=name, suite=name, kind=kind, cwd=Path("/project"))


def collect(found: Task) -> list[CollectedTest] | None:
    return [CollectedTest(node_id) for node_id in NODE_IDS] if found.kind == "pytest" else None


TASKS = [task("unit"), task("features", "behave"), task("smoke", "command")]


def everything_run(parts: PartsPlan) -> list[str]:
    """Every node id of `unit` and every whole task, once per part that runs it."""
    found: list[str] = []
    for share in parts.shares:
        for name, node_ids in share.items():
            found += NODE_IDS if node_ids is None and name == "unit" else node_ids or [name]
    return found


def test_every_test_and_task_is_in_exactly_one_part() -> None:
    recorded = {node_id: 0.5 + index for index, node_id in enumerate(NODE_IDS)}
    durations = Durations(tasks={"features": 9.0, "smoke": 2.0}, tests=recorded)
    parts = plan_parts(TASKS, 3, durations, collect)
    assert sorted(everything_run(parts)) == sorted([*NODE_IDS, "features", "smoke"])


def test_the_same_durations_give_the_same_shares_and_digest_whatever_the_input_order() -> None:
    recorded = {node_id: 1.0 + (index % 3) for index, node_id in enumerate(NODE_IDS)}
    durations = Durations(tasks={"features": 4.0}, tests=recorded)
    shuffled = Durations(tasks={"features": 4.0}, tests=dict(reversed(recorded.items())))
    first = plan_parts(TASKS, 3, durations, collect)
    again = plan_parts(TASKS, 3, shuffled, collect)
    assert first.shares == again.shares
    assert first.digest == again.digest == digest_of(json.loads(json.dumps(first.shares)))


def test_parts_are_balanced_by_recorded_seconds() -> None:
    recorded = dict.fromkeys(NODE_IDS, 1.0) | {NODE_IDS[0]: 6.0}
    parts = plan_parts([task("unit")], 3, Durations(tests=recorded), collect)
    assert sorted(parts.seconds) == [5.0, 6.0, 6.0]
    assert parts.shares[0] == {"unit": [NODE_IDS[0]]}


def test_tests_never_seen_are_spread_evenly() -> None:
    parts = plan_parts([task("unit")], 3, Durations(), collect)
    assert [len(share["unit"] or []) for share in parts.shares] == [4, 4, 4]


def test_unseen_tests_go_to_the_parts_with_fewest_of_them_after_the_recorded_ones() -> None:
    recorded = {NODE_IDS[0]: 3.0, NODE_IDS[1]: 3.0, NODE_IDS[2]: 3.0}
    parts = plan_parts([task("unit")], 3, Durations(tests=recorded), collect)
    assert [len(share["unit"] or []) for share in parts.shares] == [4, 4, 4]
    assert all(NODE_IDS[index] in (parts.shares[index]["unit"] or []) for index in range(3))


def test_ties_are_broken_by_name() -> None:
    tasks = [task("zeta", "command"), task("alpha", "command"), task("mid", "command")]
    durations = Durations(tasks={"zeta": 5.0, "alpha": 5.0, "mid": 5.0})
    parts = plan_parts(tasks, 3, durations, collect)
    assert [list(share) for share in parts.shares] == [["alpha"], ["mid"], ["zeta"]]


def test_a_task_whose_tests_all_fall_in_one_part_runs_whole_there() -> None:
    parts = plan_parts([task("unit")], 1, Durations(), collect)
    assert parts.shares == [{"unit": None}]


def test_a_pytest_task_whose_tests_cannot_be_listed_goes_whole_to_one_part() -> None:
    parts = plan_parts([task("unit")], 2, Durations(), lambda found: None)
    assert parts.shares == [{"unit": None}, {}]


def test_a_share_limits_its_pytest_task_to_its_node_ids_and_keeps_whole_tasks() -> None:
    chosen = apply_share(TASKS, {"features": None, "unit": NODE_IDS[:2]}, "plan.json")
    assert [(found.name, found.selected_tests) for found in chosen] == [
        ("unit", tuple(NODE_IDS[:2])),
        ("features", ()),
    ]


def test_a_share_naming_a_task_the_profile_lacks_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'gone'"):
        apply_share(TASKS, {"gone": None}, "plan.json (part 1/2)")


@pytest.mark.parametrize("text", ["0/3", "4/3", "2", "a/b", "2/0", ""])
def test_a_part_is_i_of_n(text: str) -> None:
    with pytest.raises(UsageError, match="I/N"):
        parse_part(text)
    assert parse_part(" 2/3 ").index == 2


def test_the_durations_file_is_pytest_splits_with_task_durations_under_a_prefix(
    tmp_path: Path,
) -> None:
    document = durations_document(
        {"unit": {NODE_IDS[0]: 1.5}, "unit[py=3.12]": {NODE_IDS[0]: 2.5}}, {"features": 9.0}
    )
    assert document == {NODE_IDS[0]: 2.5, f"{TASK_KEY_PREFIX}features": 9.0}
    path = tmp_path / ".test_durations"
    path.write_text(json.dumps(document), encoding="utf-8")
    durations = read_durations(path)
    assert durations.of_tests("unit") == {NODE_IDS[0]: 2.5}
    assert durations.tasks == {"features": 9.0}


def test_a_durations_file_with_a_non_number_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    path.write_text(json.dumps({"tests/test_a.py::test_0": "slow"}), encoding="utf-8")
    with pytest.raises(UsageError, match=r"durations\.json.*test_0"):
        read_durations(path)


def test_a_saved_plan_reads_back_and_an_edited_one_is_refused(tmp_path: Path) -> None:
    parts = plan_parts(TASKS, 2, Durations(), collect)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(parts.to_json()), encoding="utf-8")
    assert read_parts_plan(path).shares == parts.shares
    edited = parts.to_json()
    edited["parts"][0]["tasks"] = {}  # type: ignore[index]
    path.write_text(json.dumps(edited), encoding="utf-8")
    with pytest.raises(UsageError, match="digest"):
        read_parts_plan(path)
