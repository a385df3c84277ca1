"""One Plan: tasks in start order with priorities, the worker formula, results back in plan order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rundir_builder import Job, T
from test_evidence_history import record
from test_orchestrator import make_task

from qaagent.config.models import RunSettings
from qaagent.evidence.cached import store_passing
from qaagent.evidence.models import MANIFEST_NAME, Manifest, TaskEntry
from qaagent.model.outcomes import TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.model.run import RunStatus
from qaagent.plan.build import build_plan
from qaagent.plan.cache import KeyMaker
from qaagent.plan.order import Order
from qaagent.plan.workers import WorkerBudget


def test_worker_slots_share_the_budget_among_the_tasks_at_once() -> None:
    budget = WorkerBudget(total=8, parallel=True)
    assert [budget.slots(tasks) for tasks in (1, 2, 3)] == [8, 4, 2]
    assert WorkerBudget(total=2, parallel=True).slots(5) == 1


def test_max_workers_limits_the_tasks_at_once_and_sequential_is_one() -> None:
    limited = WorkerBudget.of(RunSettings(parallel=True, max_workers=3))
    assert (limited.at_once(10), limited.at_once(2), limited.most_shards) == (3, 2, 3)
    sequential = WorkerBudget.of(RunSettings(parallel=False, max_workers=4))
    assert (sequential.at_once(10), sequential.most_shards, sequential.slots(10)) == (1, 1, 4)


def test_the_plan_orders_the_tasks_and_gives_the_earlier_the_higher_priority(
    tmp_path: Path,
) -> None:
    tasks = [
        make_task("low", priority=0),
        make_task("high", priority=5, command=("run", "-n", "{workers}")),
        make_task("named"),
    ]
    settings = RunSettings(parallel=True, max_workers=4, suite_order=["named"])
    plan = build_plan(tasks, settings, tmp_path, env={}, order=Order.profile)
    assert [task.name for task in plan.tasks] == ["named", "high", "low"]
    assert [task.name for task in plan.runnable] == ["low", "high", "named"]
    assert plan.priorities == {"named": 3, "high": 2, "low": 1}
    assert plan.workers == 3
    assert plan.tasks[1].command == ("run", "-n", "1")
    assert plan.shard_of == {}


def test_results_come_back_in_plan_order_whatever_order_they_ran_in(tmp_path: Path) -> None:
    tasks = [make_task("a"), make_task("b", priority=9)]
    plan = build_plan(tasks, RunSettings(), tmp_path, env={})
    assert [task.name for task in plan.tasks] == ["b", "a"]
    ran = [
        TaskResult(task=name, suite=name, kind="command", outcome=TaskOutcome.passed)
        for name in ("b", "a")
    ]
    assert [result.task for result in plan.in_plan_order(ran)] == ["a", "b"]


def test_a_task_is_planned_to_run_its_selection_else_as_many_tests_as_it_last_ran(
    tmp_path: Path,
) -> None:
    record(tmp_path, "run-1", 1, [Job("whole", tests=[T("t::a"), T("t::b"), T("t::c")])])
    tasks = [
        make_task("whole"),
        make_task("narrowed", selected_tests=("t::a", "t::b")),
        make_task("new"),
    ]
    plan = build_plan(tasks, RunSettings(), tmp_path, env={})
    assert plan.expected_tests == {"whole": 3, "narrowed": 2}


def test_a_task_a_stored_pass_stands_for_never_runs_and_keeps_its_place(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    source = tmp_path / "project"
    source.mkdir()
    (source / "check.py").write_text("print('ok')")
    tasks = [
        make_task(name, cwd=source, root=source, cache=name != "c", inputs=("*.py",))
        for name in ("a", "b", "c")
    ]
    keys = KeyMaker()
    key = keys.key(tasks[1])
    stored = Manifest(
        run_id="run-1",
        status=RunStatus.passed,
        started_at=datetime.now(UTC),
        tasks=[TaskEntry(name="b", suite="b", kind="command", outcome=TaskOutcome.passed)],
    )
    (runs / "run-1").mkdir(parents=True)
    (runs / "run-1" / MANIFEST_NAME).write_text(stored.model_dump_json())
    passed = TaskResult(
        task="b", suite="b", kind="command", outcome=TaskOutcome.passed, cache_key=key.digest
    )
    store_passing(runs, "run-1", [passed])

    plan = build_plan(tasks, RunSettings(), runs, env={}, keys=keys)
    assert [task.name for task in plan.runnable] == ["a", "c"]
    assert [(task.name, hit.entry.run_id) for task, hit in plan.cached] == [("b", "run-1")]
    assert set(plan.cache_keys) == {"a", "b"}
    cached = TaskResult(task="b", suite="b", kind="command", outcome=TaskOutcome.cached)
    ran = [
        TaskResult(task=name, suite=name, kind="command", outcome=TaskOutcome.passed)
        for name in "ca"
    ]
    assert [result.task for result in plan.in_plan_order([*ran, cached])] == ["a", "b", "c"]
    unserved = build_plan(tasks, RunSettings(), runs, env={}, keys=keys, serve_cached=False)
    assert ([task.name for task in unserved.runnable], unserved.cached) == (["a", "b", "c"], ())
