"""RunOrchestrator with fake runners: order, isolation, pools, fail-fast, stopping, exit codes."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_progress_events import task_finished

from qaagent.errors import ExitCode
from qaagent.execute.backend import Event, TaskControl
from qaagent.execute.orchestrator import (
    Execution,
    ExecutionOptions,
    RunOrchestrator,
)
from qaagent.execute.task import TaskSettings, error_result, run_task
from qaagent.model.live import LiveTest
from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome, TestCase
from qaagent.model.results import TaskResult
from qaagent.model.run import RunStatus, StopReason, exit_code_for
from qaagent.model.task import Task
from qaagent.processes.watchdog import ProcessGuard
from qaagent.reporting.progress import failure_lines
from qaagent.secrets import SecretValues
from qaagent.tools.base import RunContext

Behaviour = Callable[[Task, RunContext], TaskResult]


def make_task(name: str, **fields: object) -> Task:
    values: dict[str, object] = {
        "name": name,
        "suite": name.split("[", maxsplit=1)[0],
        "kind": "command",
        "cwd": Path("/repo"),
        "command": ("true",),
    }
    values.update(fields)
    return Task.model_validate(values)


def result_for(task: Task, outcome: TaskOutcome, cases: list[TestCase] | None = None) -> TaskResult:
    cases = cases if cases is not None else [case(task.name, outcome)]
    now = datetime.now(UTC)
    return TaskResult(
        task=task.name,
        suite=task.suite,
        kind=task.kind,
        outcome=outcome,
        counts=Counts.of(cases),
        cases=cases,
        started_at=now,
        finished_at=now,
    )


def case(name: str, outcome: TaskOutcome) -> TestCase:
    status = CaseStatus.failed if outcome is TaskOutcome.failed else CaseStatus.passed
    return TestCase(id=f"test_{name}", name=f"test_{name}", status=status)


def passes(task: Task, context: RunContext) -> TaskResult:
    return result_for(task, TaskOutcome.passed)


def fails(task: Task, context: RunContext) -> TaskResult:
    return result_for(task, TaskOutcome.failed)


def waits_for_stop(task: Task, context: RunContext) -> TaskResult:
    """A task that runs until it is told to stop, like a runner polling its stop flag."""
    assert context.stop.wait(30), "never asked to stop"
    return result_for(task, TaskOutcome.interrupted, [])


class FakeRunner:
    """Runs each task by its behaviour; records what ran and how many ran at once per pool."""

    def __init__(self, behaviours: dict[str, Behaviour], default: Behaviour = passes) -> None:
        self.behaviours = behaviours
        self.default = default
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.running: dict[str | None, int] = {}
        self.most_at_once: dict[str | None, int] = {}
        self.contexts: dict[str, RunContext] = {}

    def __call__(self, kind: str) -> FakeRunner:
        return self

    def run(self, task: Task, context: RunContext) -> TaskResult:
        with self.lock:
            self.started.append(task.name)
            self.contexts[task.name] = context
            for key in {task.pool, "*"}:
                self.running[key] = self.running.get(key, 0) + 1
                self.most_at_once[key] = max(self.most_at_once.get(key, 0), self.running[key])
        try:
            return self.behaviours.get(task.name, self.default)(task, context)
        finally:
            with self.lock:
                for key in {task.pool, "*"}:
                    self.running[key] -= 1


def orchestrate(
    tasks: list[Task],
    runner: FakeRunner,
    tmp_path: Path,
    **options: object,
) -> Execution:
    settings = ExecutionOptions(artifacts_dir=tmp_path / "artifacts", **options)  # type: ignore[arg-type]
    return RunOrchestrator(runner, settings).run(tasks)


def outcomes(execution: Execution) -> dict[str, TaskOutcome]:
    return {result.task: result.outcome for result in execution.results}


def test_results_come_back_in_plan_order_whatever_order_they_finish_in(tmp_path: Path) -> None:
    second_done = threading.Event()

    def first(task: Task, context: RunContext) -> TaskResult:
        assert second_done.wait(10)
        return passes(task, context)

    def second(task: Task, context: RunContext) -> TaskResult:
        second_done.set()
        return passes(task, context)

    runner = FakeRunner({"first": first, "second": second})
    tasks = [make_task("first"), make_task("second"), make_task("third")]
    execution = orchestrate(tasks, runner, tmp_path, workers=3)
    assert [result.task for result in execution.results] == ["first", "second", "third"]
    assert execution.exit_code is ExitCode.OK
    assert execution.status is RunStatus.passed


def test_an_exception_in_one_task_is_its_error_result_and_the_others_still_run(
    tmp_path: Path,
) -> None:
    def explodes(task: Task, context: RunContext) -> TaskResult:
        raise RuntimeError("runner bug")

    runner = FakeRunner({"bad": explodes})
    tasks = [make_task("bad"), make_task("good")]
    execution = orchestrate(tasks, runner, tmp_path, workers=1)
    bad, good = execution.results
    assert bad.outcome is TaskOutcome.error
    assert bad.counts.errors == 1
    assert bad.error == "RuntimeError: runner bug"
    assert any("runner bug" in line for line in bad.tail)
    assert good.outcome is TaskOutcome.passed
    assert execution.exit_code is ExitCode.INFRASTRUCTURE_ERROR


def test_sequential_is_one_worker_and_runs_in_scheduled_order(tmp_path: Path) -> None:
    runner = FakeRunner({})
    tasks = [make_task("named"), make_task("high"), make_task("low")]
    settings = ExecutionOptions(artifacts_dir=tmp_path, workers=1)
    execution = RunOrchestrator(runner, settings).run(tasks)
    assert runner.started == ["named", "high", "low"]
    assert runner.most_at_once["*"] == 1
    assert {result.worker for result in execution.results} == {0}
    assert [result.task for result in execution.results] == ["named", "high", "low"]


def test_worker_slots_are_numbered_from_zero(tmp_path: Path) -> None:
    both_running = threading.Barrier(2, timeout=10)

    def meets_the_other(task: Task, context: RunContext) -> TaskResult:
        both_running.wait()
        return passes(task, context)

    runner = FakeRunner({}, default=meets_the_other)
    execution = orchestrate([make_task("a"), make_task("b")], runner, tmp_path, workers=2)
    assert sorted(result.worker for result in execution.results) == [0, 1]  # type: ignore[type-var]


def test_a_pool_caps_its_tasks_without_blocking_other_tasks(tmp_path: Path) -> None:
    free_task_ran = threading.Event()
    pair_running = threading.Barrier(2, timeout=10)

    def pooled(task: Task, context: RunContext) -> TaskResult:
        pair_running.wait()
        assert free_task_ran.wait(10), "a full pool blocked a task outside the pool"
        return passes(task, context)

    def free(task: Task, context: RunContext) -> TaskResult:
        free_task_ran.set()
        return passes(task, context)

    runner = FakeRunner({"free": free}, default=pooled)
    tasks = [make_task(f"api{index}", pool="api") for index in range(4)] + [make_task("free")]
    execution = orchestrate(tasks, runner, tmp_path, workers=4, pools={"api": 2})
    assert runner.most_at_once["api"] == 2
    assert set(outcomes(execution).values()) == {TaskOutcome.passed}


def test_fail_fast_leaves_queued_tasks_not_run_with_the_failures_exit_code(
    tmp_path: Path,
) -> None:
    runner = FakeRunner({"broken": fails})
    tasks = [make_task("broken"), make_task("later"), make_task("last")]
    execution = orchestrate(tasks, runner, tmp_path, workers=1, fail_fast=True)
    assert runner.started == ["broken"]
    assert outcomes(execution) == {
        "broken": TaskOutcome.failed,
        "later": TaskOutcome.not_run,
        "last": TaskOutcome.not_run,
    }
    assert "fail-fast" in (execution.results[1].error or "")
    assert execution.stop_reason is StopReason.fail_fast
    assert execution.exit_code is ExitCode.TESTS_FAILED


def test_fail_fast_stops_running_tasks_through_their_stop_flag(tmp_path: Path) -> None:
    def fails_once_other_runs(task: Task, context: RunContext) -> TaskResult:
        while "slow" not in runner.started:
            threading.Event().wait(0.01)
        return fails(task, context)

    runner = FakeRunner({"slow": waits_for_stop, "broken": fails_once_other_runs})
    tasks = [make_task("slow"), make_task("broken")]
    execution = orchestrate(tasks, runner, tmp_path, workers=2, fail_fast=True)
    assert outcomes(execution) == {"slow": TaskOutcome.interrupted, "broken": TaskOutcome.failed}
    assert execution.exit_code is ExitCode.TESTS_FAILED


def fails_tests(count: int) -> Behaviour:
    def behaviour(task: Task, context: RunContext) -> TaskResult:
        failed = [
            TestCase(id=f"{task.name}-{n}", name=f"t{n}", status=CaseStatus.failed)
            for n in range(count)
        ]
        return result_for(task, TaskOutcome.failed, failed)

    return behaviour


def test_max_failures_counts_failed_tests_across_tasks_then_stops(tmp_path: Path) -> None:
    runner = FakeRunner({"one": fails_tests(1), "two": fails_tests(2)})
    tasks = [make_task("one"), make_task("fine"), make_task("two"), make_task("later")]
    execution = orchestrate(tasks, runner, tmp_path, workers=1, max_failures=3)
    assert runner.started == ["one", "fine", "two"]
    assert outcomes(execution)["later"] is TaskOutcome.not_run
    assert "--max-failures" in (execution.results[3].error or "")
    assert execution.stop_reason is StopReason.max_failures
    assert execution.exit_code is ExitCode.TESTS_FAILED


def test_max_failures_below_the_count_lets_the_run_finish(tmp_path: Path) -> None:
    runner = FakeRunner({"one": fails_tests(2)})
    tasks = [make_task("one"), make_task("later")]
    execution = orchestrate(tasks, runner, tmp_path, workers=1, max_failures=3)
    assert runner.started == ["one", "later"]
    assert execution.stop_reason is None


def test_max_failures_stops_running_tasks_through_their_stop_flag(tmp_path: Path) -> None:
    def fails_once_other_runs(task: Task, context: RunContext) -> TaskResult:
        while "slow" not in runner.started:
            threading.Event().wait(0.01)
        return fails_tests(2)(task, context)

    runner = FakeRunner({"slow": waits_for_stop, "broken": fails_once_other_runs})
    tasks = [make_task("slow"), make_task("broken")]
    execution = orchestrate(tasks, runner, tmp_path, workers=2, max_failures=2)
    assert outcomes(execution) == {"slow": TaskOutcome.interrupted, "broken": TaskOutcome.failed}
    assert execution.exit_code is ExitCode.TESTS_FAILED


def test_interrupt_stops_running_tasks_and_leaves_queued_ones_not_run(tmp_path: Path) -> None:
    runner = FakeRunner({"slow": waits_for_stop})
    orchestrator = RunOrchestrator(runner, ExecutionOptions(artifacts_dir=tmp_path, workers=1))

    def interrupt_when_running() -> None:
        while "slow" not in runner.started:
            threading.Event().wait(0.01)
        orchestrator.request_interrupt()

    threading.Thread(target=interrupt_when_running).start()
    execution = orchestrator.run([make_task("slow"), make_task("queued")])
    assert outcomes(execution) == {"slow": TaskOutcome.interrupted, "queued": TaskOutcome.not_run}
    assert execution.exit_code is ExitCode.INTERRUPTED
    assert execution.status is RunStatus.interrupted


def test_run_timeout_times_out_running_tasks_and_is_an_infrastructure_error(
    tmp_path: Path,
) -> None:
    runner = FakeRunner({"slow": waits_for_stop})
    execution = orchestrate(
        [make_task("slow"), make_task("queued")], runner, tmp_path, workers=1, run_timeout=0.2
    )
    assert outcomes(execution) == {"slow": TaskOutcome.timed_out, "queued": TaskOutcome.not_run}
    assert execution.exit_code is ExitCode.INFRASTRUCTURE_ERROR
    assert execution.status is RunStatus.error


def test_a_task_stopped_by_the_run_timeout_is_announced_as_timed_out(tmp_path: Path) -> None:
    finished: list[TaskResult] = []

    class Recorder:
        def event(self, event: Event) -> None:
            if event.result is not None:
                finished.append(event.result)

        def tick(self) -> None:
            return None

    settings = ExecutionOptions(artifacts_dir=tmp_path, workers=1, run_timeout=0.2)
    runner = FakeRunner({"slow": waits_for_stop})
    execution = RunOrchestrator(runner, settings, watcher=Recorder()).run([make_task("slow")])
    assert [(result.task, result.outcome) for result in finished] == [
        ("slow", TaskOutcome.timed_out)
    ]
    assert finished[0].error == "stopped: the run reached --run-timeout"
    assert execution.results[0].outcome is TaskOutcome.timed_out


def test_tasks_get_their_own_artifacts_folder_and_the_run_environment(tmp_path: Path) -> None:
    runner = FakeRunner({})
    tasks = [make_task("evals[model=a/b]")]
    orchestrate(tasks, runner, tmp_path, env={"BASE_URL": "http://x"}, chromium="/bin/chromium")
    context = runner.contexts["evals[model=a/b]"]
    assert context.output_dir.parent == tmp_path / "artifacts"
    assert context.output_dir.name.startswith("evals[model=a_b]-")
    assert context.output_dir.is_dir()
    assert context.env == {"BASE_URL": "http://x"}
    assert context.chromium == "/bin/chromium"


def test_events_reach_the_watcher_on_the_main_thread(tmp_path: Path) -> None:
    seen: list[tuple[str, str, bool]] = []

    class Recorder:
        def event(self, event: Event) -> None:
            is_main = threading.current_thread() is threading.main_thread()
            seen.append((event.kind, event.task, is_main))

        def tick(self) -> None:
            return None

    def talks(task: Task, context: RunContext) -> TaskResult:
        assert context.on_output is not None
        context.on_output("hello")
        return passes(task, context)

    settings = ExecutionOptions(artifacts_dir=tmp_path, workers=2)
    RunOrchestrator(FakeRunner({}, default=talks), settings, watcher=Recorder()).run(
        [make_task("a")]
    )
    assert seen == [("started", "a", True), ("output", "a", True), ("finished", "a", True)]


@pytest.mark.parametrize(
    ("outcome_set", "stop_reason", "expected"),
    [
        ({TaskOutcome.passed}, None, ExitCode.OK),
        ({TaskOutcome.passed, TaskOutcome.failed}, None, ExitCode.TESTS_FAILED),
        ({TaskOutcome.failed, TaskOutcome.error}, None, ExitCode.INFRASTRUCTURE_ERROR),
        ({TaskOutcome.failed, TaskOutcome.timed_out}, None, ExitCode.INFRASTRUCTURE_ERROR),
        ({TaskOutcome.error}, StopReason.interrupted, ExitCode.INTERRUPTED),
        ({TaskOutcome.passed}, StopReason.run_timeout, ExitCode.INFRASTRUCTURE_ERROR),
        (
            {TaskOutcome.failed, TaskOutcome.interrupted, TaskOutcome.not_run},
            StopReason.fail_fast,
            ExitCode.TESTS_FAILED,
        ),
        ({TaskOutcome.not_run}, None, ExitCode.INFRASTRUCTURE_ERROR),
    ],
)
def test_exit_code_precedence_is_interrupted_then_infrastructure_then_failures(
    outcome_set: set[TaskOutcome], stop_reason: StopReason | None, expected: ExitCode
) -> None:
    results = [
        result_for(make_task(f"t{index}"), outcome) for index, outcome in enumerate(outcome_set)
    ]
    assert exit_code_for(results, stop_reason) is expected


def test_the_failure_block_of_a_task_that_could_not_run_shows_each_line_once(
    tmp_path: Path,
) -> None:
    reason = "app 'local' exited with code 4.\nLast lines of app.log:\nboom"
    result = error_result(make_task("smoke"), reason, datetime.now(UTC), tmp_path)
    assert failure_lines(task_finished(result)) == [
        "── smoke: error ──",
        "app 'local' exited with code 4.",
        "Last lines of app.log:",
        "boom",
    ]


def reports_failures_live(count: int) -> Behaviour:
    """A tool that reports `count` failing tests live, then runs until it is stopped."""

    def behaviour(task: Task, context: RunContext) -> TaskResult:
        assert context.on_test is not None
        for number in range(count):
            context.on_test(LiveTest(test=f"test_{number}", outcome="failed"))
        stopped = context.stop.wait(30)
        return result_for(task, TaskOutcome.interrupted if stopped else TaskOutcome.passed, [])

    return behaviour


def test_max_failures_stops_on_live_failures_before_the_failing_task_ends(tmp_path: Path) -> None:
    runner = FakeRunner({"live": reports_failures_live(2)})
    tasks = [make_task("live"), make_task("later")]
    execution = orchestrate(tasks, runner, tmp_path, workers=1, max_failures=2)
    assert execution.stop_reason is StopReason.max_failures
    assert outcomes(execution) == {"live": TaskOutcome.interrupted, "later": TaskOutcome.not_run}


def test_live_failures_of_a_task_that_retries_wait_for_its_result(tmp_path: Path) -> None:
    def live_then_passes(task: Task, context: RunContext) -> TaskResult:
        assert context.on_test is not None
        context.on_test(LiveTest(test="test_flaky", outcome="failed"))
        return result_for(task, TaskOutcome.passed)

    runner = FakeRunner({"retrying": live_then_passes})
    tasks = [make_task("retrying", retry_count=1), make_task("later")]
    execution = orchestrate(tasks, runner, tmp_path, workers=1, max_failures=1)
    assert execution.stop_reason is None
    assert runner.started == ["retrying", "later"]


def test_a_task_runs_from_plain_data_that_survives_pickling(tmp_path: Path) -> None:
    settings = TaskSettings(tmp_path, {"BASE_URL": "http://x"}, None, SecretValues(["s3cret-v"]))
    shipped: tuple[Task, TaskSettings] = pickle.loads(pickle.dumps((make_task("unit"), settings)))
    events: list[Event] = []
    runner = FakeRunner({})
    guard = ProcessGuard()
    result = run_task(
        *shipped, TaskControl(threading.Event(), 3), events.append, guard=guard, runner_for=runner
    )
    assert result.outcome is TaskOutcome.passed
    assert runner.contexts["unit"].guard is guard
    assert result.worker == 3
    assert runner.contexts["unit"].env == {"BASE_URL": "http://x"}
    assert runner.contexts["unit"].output_dir == tmp_path / "unit"


def test_a_task_whose_runner_raises_is_its_own_error_result(tmp_path: Path) -> None:
    def explodes(task: Task, context: RunContext) -> TaskResult:
        raise RuntimeError("boom")

    result = run_task(
        make_task("unit"),
        TaskSettings(tmp_path),
        TaskControl(threading.Event(), 0),
        lambda event: None,
        guard=ProcessGuard(),
        runner_for=FakeRunner({"unit": explodes}),
    )
    assert result.outcome is TaskOutcome.error
    assert result.error == "RuntimeError: boom"
    assert any("raise RuntimeError" in line for line in result.tail)
