"""The shared attempt loop's pure parts, and its verdicts with a scripted process in place."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qaagent.errors import UsageError
from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome, TestCase
from qaagent.model.results import Attempt
from qaagent.model.task import Task
from qaagent.processes.matching import search_log
from qaagent.processes.run import ProcessResult
from qaagent.tools import attempts
from qaagent.tools.attempts import (
    AdapterDefaults,
    AttemptResult,
    Deadline,
    Retry,
    RetryBudget,
    ToolRunner,
    Verdict,
    backoff_delay,
    expand_argv,
    fresh_folder,
    junit_files,
    merge_cases,
    remove_stale,
    task_environment,
)
from qaagent.tools.base import Invocation, RunContext
from qaagent.tools.command_tool import CommandAdapter
from qaagent.tools.pytest_tool import (
    PLUGIN_DIR,
    SELECT_VARIABLE,
    PytestAdapter,
    selected_node_ids,
)
from qaagent.tools.registry import runner_for


def case(case_id: str, status: str, **properties: str) -> TestCase:
    return TestCase(id=case_id, name=case_id, status=CaseStatus(status), properties=properties)


def make_task(**changes: object) -> Task:
    fields: dict[str, object] = {
        "name": "unit[py=3.11]",
        "suite": "unit",
        "kind": "pytest",
        "cwd": Path("/project"),
        "timeout": 30.0,
    }
    fields.update(changes)
    return Task.model_validate(fields)


def test_rerun_updates_only_its_cases_and_marks_flaky() -> None:
    first = [case("a", "passed"), case("b", "failed"), case("c", "error"), case("d", "skipped")]
    rerun = [case("b", "passed"), case("c", "failed")]

    merged = {c.id: c for c in merge_cases([(first, True), (rerun, False)])}

    assert list(merged) == ["a", "b", "c", "d"]
    assert merged["b"].flaky and merged["b"].status is CaseStatus.passed
    assert not merged["c"].flaky and merged["c"].status is CaseStatus.failed
    assert Counts.of(list(merged.values())) == Counts(passed=1, failed=1, skipped=1, flaky=1)


def test_rerun_replaces_every_case_of_a_test_in_place() -> None:
    first = [
        case("t::a", "passed"),
        case("t::b", "passed"),
        case("t::b #2", "error").model_copy(update={"repeat": 2}),
        case("t::c", "passed"),
    ]
    rerun = [case("t::b", "passed"), case("t::new", "passed")]

    merged = merge_cases([(first, True), (rerun, False)])

    assert [(c.id, c.status.value, c.flaky) for c in merged] == [
        ("t::a", "passed", False),
        ("t::b", "passed", True),
        ("t::c", "passed", False),
        ("t::new", "passed", False),
    ]


def test_complete_rerun_replaces_earlier_cases() -> None:
    first = [case("whole-command", "failed")]
    second = [case("c::ok", "passed")]

    assert [c.id for c in merge_cases([(first, True), (second, True)])] == ["c::ok"]


def test_complete_rerun_without_cases_keeps_what_was_known() -> None:
    first = [case("a", "failed")]

    assert merge_cases([(first, True), ([], True)]) == first


def test_argv_expansion_like_a_shell_without_one() -> None:
    env = {"QAAGENT_JUNIT": "/out/junit.xml", "MODEL": "small"}

    assert expand_argv(
        ["--out=$QAAGENT_JUNIT", "${MODEL}-x", "$UNKNOWN", "$$HOME", "a b"], env
    ) == ["--out=/out/junit.xml", "small-x", "$UNKNOWN", "$HOME", "a b"]


@pytest.mark.parametrize("retry", [1, 2, 3, 10])
def test_backoff_grows_exponentially_with_jitter_and_a_cap(retry: int) -> None:
    delays = [backoff_delay(retry, 1.0) for _ in range(200)]
    nominal = min(60.0, 2.0 ** (retry - 1))

    assert all(0.5 * nominal <= delay <= 1.5 * nominal for delay in delays)
    assert len(set(delays)) > 1


def test_fresh_folder_and_stale_junit_removal(tmp_path: Path) -> None:
    attempt = tmp_path / "attempt-1"
    (attempt / "sub").mkdir(parents=True)
    (attempt / "junit.xml").write_text("<testsuite/>")
    folder = tmp_path / "behave"
    folder.mkdir()
    (folder / "TESTS-a.xml").write_text("<testsuite/>")
    (folder / "keep.txt").write_text("x")
    single = tmp_path / "junit.xml"
    single.write_text("<testsuite/>")

    fresh_folder(attempt)
    remove_stale(folder)
    remove_stale(single)

    assert list(attempt.iterdir()) == []
    assert junit_files(folder) == []
    assert (folder / "keep.txt").exists()
    assert junit_files(single) == []


def test_output_patterns_are_searched_from_the_attempt_offset(tmp_path: Path) -> None:
    log = tmp_path / "output.log"
    log.write_bytes(b"attempt 1: HTTP 429\n")
    offset = log.stat().st_size
    with log.open("ab") as handle:
        handle.write(b"attempt 2: \xff connection refused\n")

    assert search_log(log, 0, ("HTTP 429",))
    assert not search_log(log, offset, ("HTTP 429",))
    assert search_log(log, offset, ("HTTP 429", r"connection\s+refused"))


def test_environment_layers_and_qaagent_variables(tmp_path: Path) -> None:
    task = make_task(env={"A": "task", "B": "task"})
    context = RunContext(output_dir=tmp_path, env={"B": "run", "BASE_URL": "http://x"})
    context.chromium = "/usr/bin/chromium"
    invocation = Invocation(["x"], tmp_path, {"TOOL": "1"}, tmp_path / "j.xml")

    env = task_environment(task, context, invocation, tmp_path / "attempt-2", 2)

    assert env["A"] == "task" and env["B"] == "run" and env["BASE_URL"] == "http://x"
    assert env["QAAGENT_JUNIT"] == str(tmp_path / "j.xml")
    assert env["QAAGENT_OUTPUT_DIR"] == str(tmp_path / "attempt-2")
    assert env["QAAGENT_TASK"] == "unit[py=3.11]"
    assert env["QAAGENT_ATTEMPT"] == "2"
    assert env["QAAGENT_CHROMIUM"] == "/usr/bin/chromium"
    assert env["TOOL"] == "1"
    assert "PATH" in env


def test_pytest_rerun_writes_exact_node_ids_to_a_selection_file(tmp_path: Path) -> None:
    task = make_task(path=Path("/project/tests"), args=("-n", "4"))
    rerun = [
        case("x", "failed", nodeid="t.py::test[a b]"),
        case("y", "error", nodeid="t.py::C::D::test[[x]]"),
        case("y #2", "error", nodeid="t.py::C::D::test[[x]]"),
    ]

    invocation = PytestAdapter().invocation(task, RunContext(output_dir=tmp_path), tmp_path, rerun)

    assert invocation.argv[1:] == [
        "-m",
        "pytest",
        "/project/tests",
        "-n",
        "4",
        f"--junitxml={tmp_path / 'junit.xml'}",
        "-p",
        "qaagent_pytest",
    ]
    assert invocation.partial
    selection = Path(invocation.env[SELECT_VARIABLE]).read_text().splitlines()
    assert selection == ["t.py::test[a b]", "t.py::C::D::test[[x]]"]
    assert invocation.env["PYTHONPATH"].split(":")[0] == str(PLUGIN_DIR)


def test_pytest_rerun_without_node_ids_runs_everything(tmp_path: Path) -> None:
    task = make_task(command=("/venv/bin/pytest",))
    rerun = [case("tests.test_broken_import", "error")]

    invocation = PytestAdapter().invocation(task, RunContext(output_dir=tmp_path), tmp_path, rerun)

    assert invocation.argv[0] == "/venv/bin/pytest"
    assert SELECT_VARIABLE not in invocation.env
    assert not invocation.partial


def test_pytest_selected_tests_restrict_the_first_attempt(tmp_path: Path) -> None:
    task = make_task(selected_tests=("t.py::test_one",))

    invocation = PytestAdapter().invocation(task, RunContext(output_dir=tmp_path), tmp_path, [])

    assert Path(invocation.env[SELECT_VARIABLE]).read_text() == "t.py::test_one\n"
    assert not invocation.partial


@pytest.mark.parametrize(
    ("test_ids", "expected"),
    [
        (("t.py::a", "t.py::a #2", "t.py::b[x #2]"), ["t.py::a", "t.py::b[x #2]"]),
        (("t.py::a", "tests.test_broken_import"), []),
        ((), []),
    ],
)
def test_selected_case_ids_become_node_ids(test_ids: tuple[str, ...], expected: list[str]) -> None:
    assert selected_node_ids(test_ids) == expected


@pytest.mark.parametrize(("code", "expected"), [(3, "internal"), (4, "usage"), (5, "no tests")])
def test_pytest_could_not_run_exit_codes(code: int, expected: str) -> None:
    reason = PytestAdapter().infrastructure_error(code, [])

    assert reason is not None and expected in reason
    assert PytestAdapter().infrastructure_error(1, []) is None


def test_registry_knows_every_suite_kind_and_names_them() -> None:
    for kind in ("pytest", "command", "behave", "playwright-python", "playwright-node"):
        assert isinstance(runner_for(kind), ToolRunner)
    with pytest.raises(
        UsageError, match="known: behave, command, playwright-node, playwright-python, pytest"
    ):
        runner_for("cypress")


class ScriptedAdapter(AdapterDefaults):
    """Writes nothing itself; the scripted process decides what JUnit appears."""

    def invocation(
        self, task: Task, context: RunContext, attempt_dir: Path, rerun: list[TestCase]
    ) -> Invocation:
        return Invocation(["tool"], attempt_dir, {}, attempt_dir / "junit.xml", partial=bool(rerun))


def scripted(
    monkeypatch: pytest.MonkeyPatch, outcomes: list[tuple[int | None, str | None]]
) -> list[list[str]]:
    """Replace the process with one that writes the given JUnit and exits with the given code."""
    calls: list[list[str]] = []

    def fake_run_process(argv: list[str], **kwargs: object) -> ProcessResult:
        exit_code, junit = outcomes[len(calls)]
        calls.append(argv)
        env = kwargs["env"]
        assert isinstance(env, dict)
        if junit is not None:
            Path(env["QAAGENT_JUNIT"]).write_text(junit)
        now = datetime.now(UTC)
        return ProcessResult(argv, exit_code, now, now, tail=["last line"])

    monkeypatch.setattr(attempts, "run_process", fake_run_process)
    return calls


PASS = '<testsuite><testcase classname="c" name="ok"/></testsuite>'
FAIL = (
    '<testsuite><testcase classname="c" name="bad"><failure message="no"/></testcase></testsuite>'
)
FIXED = '<testsuite><testcase classname="c" name="bad"/></testsuite>'


@pytest.mark.parametrize(
    ("exit_code", "junit", "outcome", "error"),
    [
        (0, PASS, TaskOutcome.passed, None),
        (1, FAIL, TaskOutcome.failed, None),
        (0, FAIL, TaskOutcome.failed, None),
        (1, PASS, TaskOutcome.error, "exited with 1 although no test failed"),
        (-11, PASS, TaskOutcome.error, "killed by signal 11 although no test failed"),
        (0, None, TaskOutcome.error, "exited with 0 without writing JUnit XML"),
        (0, "<testsuite/>", TaskOutcome.error, "exited with 0; its JUnit XML holds no tests"),
        (0, "<testsuite><testcase", TaskOutcome.error, "invalid or truncated XML"),
    ],
)
def test_verdict_weighs_junit_against_exit_code(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    exit_code: int,
    junit: str | None,
    outcome: TaskOutcome,
    error: str | None,
) -> None:
    scripted(monkeypatch, [(exit_code, junit)])

    result = ToolRunner(ScriptedAdapter()).run(make_task(), RunContext(output_dir=tmp_path))

    assert result.outcome is outcome
    if error is None:
        assert result.error is None
    else:
        assert result.error is not None and error in result.error


@pytest.mark.parametrize(
    ("exit_code", "outcome"), [(0, TaskOutcome.passed), (1, TaskOutcome.error)]
)
def test_a_shard_may_end_cleanly_without_tests(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, exit_code: int, outcome: TaskOutcome
) -> None:
    scripted(monkeypatch, [(exit_code, "<testsuite/>")])
    shard = make_task().model_copy(update={"name": "unit[shard=2/2]", "shard_of": "unit"})

    result = ToolRunner(ScriptedAdapter()).run(shard, RunContext(output_dir=tmp_path))

    assert result.outcome is outcome
    assert result.cases == []


def test_broken_attempts_are_retried_after_a_backoff(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = scripted(monkeypatch, [(0, None), (1, FAIL), (0, FIXED)])
    delays: list[float] = []
    stop = threading.Event()
    monkeypatch.setattr(stop, "wait", lambda seconds: delays.append(seconds) or False)

    result = ToolRunner(ScriptedAdapter()).run(
        make_task(retry_count=2, retry_on_backoff=0.5), RunContext(output_dir=tmp_path, stop=stop)
    )

    assert len(calls) == 3
    assert len(delays) == 1 and 0.25 <= delays[0] <= 0.75
    assert result.outcome is TaskOutcome.passed
    assert result.attempts[0].error == "exited with 0 without writing JUnit XML"
    assert result.counts == Counts(flaky=1)
    assert result.cases[0].flaky


def test_stop_during_backoff_interrupts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scripted(monkeypatch, [(0, None), (0, PASS)])
    stop = threading.Event()
    stop.set()

    result = ToolRunner(ScriptedAdapter()).run(
        make_task(retry_count=3), RunContext(output_dir=tmp_path, stop=stop)
    )

    assert len(result.attempts) == 1
    assert result.outcome is TaskOutcome.interrupted


def test_command_without_junit_is_one_case_named_after_the_task() -> None:
    (failed,) = CommandAdapter().cases_without_junit(make_task(), 2, ["a", "b"]) or []

    assert failed.id == "unit[py=3.11]"
    assert failed.status is CaseStatus.failed
    assert failed.message == "exited with 2"
    assert failed.output == "a\nb"


def test_deadline_caps_waits_and_expires() -> None:
    assert Deadline(None).remaining() is None
    assert not Deadline(None).expired()
    assert Deadline(None).cap(5.0) == 5.0
    assert Deadline(100.0).cap(500.0) <= 100.0
    assert Deadline(0.0).expired()


def test_no_retry_starts_once_the_task_time_is_used_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scripted(monkeypatch, [(1, FAIL), (0, FIXED)])

    result = ToolRunner(ScriptedAdapter()).run(
        make_task(retry_count=3, timeout=1e-9), RunContext(output_dir=tmp_path)
    )

    assert len(result.attempts) == 1
    assert result.outcome is TaskOutcome.failed


def attempt_result(verdict: Verdict, *, transient: bool = False) -> AttemptResult:
    now = datetime.now(UTC)
    attempt = Attempt(number=1, command=["x"], started_at=now, finished_at=now, error="broke")
    return AttemptResult(attempt, verdict, [], [], transient, complete=True, wrote_junit=True)


def test_transient_failures_have_their_own_budget_and_back_off_exponentially() -> None:
    budget = RetryBudget(tests=0, transient=3)
    limited = attempt_result(Verdict.failed, transient=True)

    retries = [budget.spend(limited) for _ in range(4)]

    assert [retry.backoff if retry else None for retry in retries] == [1, 2, 3, None]
    assert retries[0] == Retry("transient failure: the output matched retry_on", 1)


def test_test_retries_do_not_spend_the_transient_budget() -> None:
    budget = RetryBudget(tests=1, transient=1)

    assert budget.spend(attempt_result(Verdict.failed)) == Retry("rerun of the failed tests")
    assert budget.spend(attempt_result(Verdict.failed)) is None
    assert budget.spend(attempt_result(Verdict.broken, transient=True)) is not None
    assert budget.spend(attempt_result(Verdict.broken)) is None


def test_a_broken_attempt_is_retried_after_a_backoff_from_the_test_budget() -> None:
    retry = RetryBudget(tests=1, transient=0).spend(attempt_result(Verdict.broken))

    assert retry == Retry("retry after: broke", 1)


def test_backoff_schedule_doubles_from_the_configured_base() -> None:
    nominal = [backoff_delay(retry, 0.05) / 0.05 for retry in (1, 2, 3)]

    assert 0.5 <= nominal[0] <= 1.5
    assert 1.0 <= nominal[1] <= 3.0
    assert 2.0 <= nominal[2] <= 6.0
