"""Matrix expansion and task selection."""

from pathlib import Path

import pytest
from test_orchestrator import make_task

from qaagent.config.suites import SuiteSpec
from qaagent.errors import UsageError
from qaagent.plan.select import plan_tasks, select_tasks, unmatched_patterns
from qaagent.plan.tasks import build_tasks, with_worker_slots


def make_suite(name: str, **fields: object) -> SuiteSpec:
    values: dict[str, object] = {
        "name": name,
        "kind": "command",
        "source": f"suites.{name}",
        "path": None,
        "cwd": Path("/repo"),
        "command": ("run", "--model={model}"),
        "args": (),
        "env": {},
        "matrix": {},
        "pool": None,
        "timeout": None,
        "retry_count": 0,
        "priority": 0,
    }
    values.update(fields)
    return SuiteSpec.model_validate(values)


def test_matrix_makes_one_task_per_combination_with_values_filled_in() -> None:
    suite = make_suite(
        "evals",
        matrix={"model": ("haiku", "sonnet"), "lang": ("en",)},
        env={"TEST_MODEL": "{model}", "RAW": "{not-a-key}"},
    )
    tasks = build_tasks([suite])
    assert [task.name for task in tasks] == [
        "evals[model=haiku,lang=en]",
        "evals[model=sonnet,lang=en]",
    ]
    assert tasks[1].command == ("run", "--model=sonnet")
    assert tasks[1].env == {"TEST_MODEL": "sonnet", "RAW": "{not-a-key}"}
    assert tasks[0].matrix == {"model": "haiku", "lang": "en"}


def test_suite_without_matrix_is_one_task_named_after_it() -> None:
    assert [task.name for task in build_tasks([make_suite("lint")])] == ["lint"]


def test_selection_by_suite_task_name_and_glob() -> None:
    tasks = build_tasks(
        [make_suite("unit"), make_suite("evals", matrix={"model": ("a", "b")}), make_suite("e2e")]
    )
    assert [t.name for t in select_tasks(tasks, include=["evals"])] == [
        "evals[model=a]",
        "evals[model=b]",
    ]
    assert [t.name for t in select_tasks(tasks, include=["evals[model=b]"])] == ["evals[model=b]"]
    assert [t.name for t in select_tasks(tasks, include=["e*"], exclude=["e2e"])] == [
        "evals[model=a]",
        "evals[model=b]",
    ]
    assert unmatched_patterns(tasks, ["unit", "nope*"]) == ["nope*"]


def test_brackets_in_a_pattern_are_literal_so_matrix_values_can_be_globbed() -> None:
    tasks = build_tasks(
        [make_suite("evals", matrix={"model": ("small", "large")}), make_suite("evalsm")]
    )
    assert [t.name for t in select_tasks(tasks, include=["evals[model=*]"])] == [
        "evals[model=small]",
        "evals[model=large]",
    ]
    assert [t.name for t in select_tasks(tasks, exclude=["evals[model=l?rge]"])] == [
        "evals[model=small]",
        "evalsm",
    ]
    assert unmatched_patterns(tasks, ["evals[m]"]) == ["evals[m]"]


def test_workers_placeholder_gets_the_slots_of_each_task() -> None:
    suite = make_suite(
        "prompts",
        command=("run", "--jobs={workers}", "--model={model}"),
        args=("-n", "{workers}"),
        env={"PARALLEL_WORKERS": "{workers}", "RAW": "{other}"},
        matrix={"model": ("small",)},
    )
    (task,) = with_worker_slots(build_tasks([suite]), 4)
    assert task.command == ("run", "--jobs=4", "--model=small")
    assert task.args == ("-n", "4")
    assert task.env == {"PARALLEL_WORKERS": "4", "RAW": "{other}"}


def test_plan_expands_matrices_and_rejects_patterns_that_match_nothing() -> None:
    tasks = [
        make_task("unit"),
        make_task("evals[model=a]", matrix={"model": "a"}),
        make_task("evals[model=b]", matrix={"model": "b"}),
    ]
    assert [task.name for task in plan_tasks(tasks, ["evals"], ["*model=b*"])] == ["evals[model=a]"]
    with pytest.raises(UsageError, match="'evlas'"):
        plan_tasks(tasks, ["evlas"], [])
    with pytest.raises(UsageError, match="Nothing to run"):
        plan_tasks(tasks, ["unit"], ["unit"])
