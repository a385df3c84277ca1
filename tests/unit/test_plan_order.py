"""Start order of tasks and priorities handed to the backend."""

import threading
import time

from test_orchestrator import make_task

from qaagent.execute.backend import LocalBackend, TaskControl
from qaagent.model.results import TaskResult
from qaagent.model.task import ForkParts, Task
from qaagent.plan.order import (
    Order,
    choose_order,
    expected_durations,
    order_tasks,
    start_order,
    start_priorities,
)


def test_suite_order_first_then_priority_then_plan_order() -> None:
    tasks = [
        make_task("a"),
        make_task("b", priority=1),
        make_task("evals[m=1]"),
        make_task("c"),
        make_task("evals[m=2]"),
    ]
    ordered = order_tasks(tasks, ["evals", "c"])
    assert [task.name for task in ordered] == ["evals[m=1]", "evals[m=2]", "c", "b", "a"]


def test_earlier_tasks_get_higher_backend_priority() -> None:
    ordered = [make_task("first"), make_task("second")]
    priorities = start_priorities(ordered)
    assert priorities["first"] > priorities["second"]


def test_duration_order_starts_the_longest_first() -> None:
    tasks = [make_task("short"), make_task("long"), make_task("middle")]
    expected = {"short": 1.0, "long": 9.0, "middle": 4.0}
    ordered = order_tasks(tasks, [], expected)
    assert [task.name for task in ordered] == ["long", "middle", "short"]


def test_priority_outranks_duration() -> None:
    tasks = [make_task("long"), make_task("urgent", priority=5)]
    ordered = order_tasks(tasks, [], {"long": 100.0, "urgent": 1.0})
    assert [task.name for task in ordered] == ["urgent", "long"]


def test_tasks_without_history_get_the_median_of_the_known() -> None:
    tasks = [make_task(name) for name in ("a", "b", "c", "new")]
    expected = expected_durations(tasks, {"a": 1.0, "b": 5.0, "c": 9.0, "gone": 100.0})
    assert expected == {"a": 1.0, "b": 5.0, "c": 9.0, "new": 5.0}
    ordered = order_tasks(tasks, [], expected)
    assert [task.name for task in ordered] == ["c", "b", "new", "a"]


def test_no_history_means_no_expected_durations() -> None:
    assert expected_durations([make_task("a")], {"other": 3.0}) == {}


def test_duration_order_is_the_default_once_history_exists() -> None:
    assert choose_order(None, {}) is Order.profile
    assert choose_order(None, {"a": 1.0}) is Order.duration
    assert choose_order(Order.profile, {"a": 1.0}) is Order.profile


def test_duration_order_uses_suite_order_only_to_break_ties() -> None:
    tasks = [make_task("unit"), make_task("evals"), make_task("lint"), make_task("e2e")]
    expected = {"unit": 1.0, "evals": 30.0, "lint": 1.0, "e2e": 10.0}
    ordered = order_tasks(tasks, ["unit", "evals", "lint", "e2e"][::-1], expected)
    assert [task.name for task in ordered] == ["evals", "e2e", "lint", "unit"]


def test_profile_order_keeps_a_complete_suite_order_whatever_the_durations() -> None:
    tasks = [make_task("unit"), make_task("evals"), make_task("lint")]
    chosen = start_order(tasks, Order.profile, {"unit": 1.0, "evals": 30.0, "lint": 2.0})
    ordered = order_tasks(tasks, ["lint", "unit", "evals"], chosen.expected)
    assert [task.name for task in ordered] == ["lint", "unit", "evals"]
    assert chosen.line == "order: profile (--order profile; suite_order, then priority)"


def test_the_default_order_says_why_and_how_to_keep_suite_order() -> None:
    tasks = [make_task("unit"), make_task("evals"), make_task("new")]
    chosen = start_order(tasks, None, {"unit": 1.0, "evals": 30.0, "gone": 5.0})
    assert chosen.line == (
        "order: duration (recorded durations of 2 tasks; --order profile to keep suite_order)"
    )
    assert chosen.expected == {"unit": 1.0, "evals": 30.0, "new": 15.5}
    first_run = start_order(tasks, None, {})
    assert (
        first_run.line == "order: profile (no recorded durations yet; suite_order, then priority)"
    )
    assert first_run.expected is None


def test_a_full_pool_lets_the_next_startable_task_take_the_idle_worker() -> None:
    started: list[str] = []
    free_started = threading.Event()

    def execute(task: Task, control: TaskControl) -> TaskResult:
        started.append(task.name)
        if task.name == "free":
            free_started.set()
        elif task.name == "db-long":
            assert free_started.wait(10), "the idle worker waited for the full pool"
        return TaskResult(task=task.name, suite=task.suite, kind="command", outcome="passed")

    backend = LocalBackend(execute, 2, {"db": 1})
    ordered = [make_task("db-long", pool="db"), make_task("db-next", pool="db"), make_task("free")]
    priorities = start_priorities(ordered)
    handles = [
        backend.submit(task, priority=priorities[task.name], on_event=lambda event: None)
        for task in ordered
    ]
    assert all(handle.future.result(timeout=10).outcome == "passed" for handle in handles)
    backend.close()
    assert started == ["db-long", "free", "db-next"]


def test_a_forked_suite_holds_a_worker_per_part_and_the_next_task_waits_for_them() -> None:
    running: list[str] = []
    most_at_once: list[int] = []
    workers_of: dict[str, int] = {}
    lock = threading.Lock()

    def execute(task: Task, control: TaskControl) -> TaskResult:
        with lock:
            running.append(task.name)
            most_at_once.append(sum(held[name] for name in running))
            workers_of[task.name] = control.worker
        time.sleep(0.05)
        with lock:
            running.remove(task.name)
        return TaskResult(task=task.name, suite=task.suite, kind="pytest", outcome="passed")

    forked = make_task(
        "unit", kind="pytest", fork=ForkParts(labels=("unit[1/2]", "unit[2/2]"), tests=None)
    )
    others = [make_task("lint"), make_task("docs")]
    held = {"unit": 2, "lint": 1, "docs": 1}
    backend = LocalBackend(execute, 2, {})
    handles = [
        backend.submit(task, priority=3 - index, on_event=lambda event: None)
        for index, task in enumerate([forked, *others])
    ]
    assert all(handle.future.result(timeout=10).outcome == "passed" for handle in handles)
    backend.close()
    assert forked.workers_held == 2
    assert max(most_at_once) == 2
    assert workers_of["unit"] == 0
