"""Start order of tasks and priorities handed to the backend."""

from test_orchestrator import make_task

from qaagent.runners.scheduler import order_tasks, start_priorities


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
