"""The attempt loop every tool shares: run, read JUnit, judge, rerun what failed, merge."""

from __future__ import annotations

import os
import random
import shlex
import shutil
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from qaagent.model.live import FEED_VARIABLE
from qaagent.model.outcomes import CaseStatus, Counts, TaskOutcome, TestCase, total_cost
from qaagent.model.results import Attempt, Segment, TaskResult
from qaagent.model.task import Task
from qaagent.processes.matching import MATCH_SECONDS, output_matches
from qaagent.processes.run import ProcessResult, run_process
from qaagent.secrets import SecretValues
from qaagent.tools.base import Invocation, RunContext, ToolAdapter, ToolUnavailable
from qaagent.tools.feed import FEED_NAME, FeedFollower, FeedTests
from qaagent.tools.junit import JunitReport, parse_junit

LOG_NAME = "output.log"
BACKOFF_CAP = 60.0
PROBLEM_STATUSES = (CaseStatus.failed, CaseStatus.error)


class AdapterDefaults:
    """What most tools share: no extra artifacts, no special exit codes, JUnit required."""

    def infrastructure_error(self, exit_code: int, cases: list[TestCase]) -> str | None:
        """No exit code has a special meaning unless the tool says so."""
        return None

    def artifacts(self, attempt_dir: Path, invocation: Invocation) -> list[Path]:
        """No files besides the JUnit XML and the log."""
        return []

    def cases_without_junit(
        self, task: Task, exit_code: int, tail: list[str]
    ) -> list[TestCase] | None:
        """A tool that should write JUnit XML and did not has failed to run."""
        return None

    def segments(self, output_dir: Path) -> list[Segment]:
        """A task runs as one part unless its tool says otherwise."""
        return []


class Verdict(Enum):
    """How one attempt ended, which decides whether and how to try again."""

    passed = "passed"
    failed = "failed"
    broken = "broken"
    unrunnable = "unrunnable"
    timed_out = "timed-out"
    interrupted = "interrupted"


@dataclass
class AttemptResult:
    """One attempt as recorded, with its verdict and the artifacts it left."""

    attempt: Attempt
    verdict: Verdict
    tail: list[str]
    artifacts: list[Path]
    transient: bool
    complete: bool
    wrote_junit: bool
    not_run: int = 0


class Deadline:
    """The end of a task's time budget, if it has one."""

    def __init__(self, seconds: float | None) -> None:
        self.end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left, never negative; None without a budget."""
        return None if self.end is None else max(self.end - time.monotonic(), 0.0)

    def expired(self) -> bool:
        """Whether no time is left for another attempt."""
        return self.remaining() == 0.0

    def cap(self, seconds: float) -> float:
        """A wait shortened so that it ends by the deadline."""
        left = self.remaining()
        return seconds if left is None else min(seconds, left)


@dataclass(frozen=True)
class Retry:
    """Why the next attempt runs, and which backoff precedes it (0: none)."""

    reason: str
    backoff: int = 0


class RetryBudget:
    """What is left of the two retry budgets: failed tests, and transient failures (retry_on)."""

    def __init__(self, *, tests: int, transient: int) -> None:
        self.tests = tests
        self.transient = transient
        self.backoffs = 0

    def spend(self, result: AttemptResult) -> Retry | None:
        """The retry after this attempt, taken from its budget; None when nothing is left."""
        if result.transient and self.transient > 0:
            self.transient -= 1
            self.backoffs += 1
            return Retry("transient failure: the output matched retry_on", self.backoffs)
        if self.tests <= 0:
            return None
        self.tests -= 1
        if result.verdict is Verdict.broken:
            self.backoffs += 1
            return Retry(f"retry after: {result.attempt.error}", self.backoffs)
        return Retry("rerun of the failed tests")


class ToolRunner:
    """Runs a task with a tool adapter: every attempt in a fresh folder, retries, merged cases."""

    def __init__(self, adapter: ToolAdapter) -> None:
        self.adapter = adapter

    def run(self, task: Task, context: RunContext) -> TaskResult:
        """Run until everything passed, the retries or the task's time are used up, or it stops.

        A transient failure (output matching `retry_on`) spends the `retry_on_attempts` budget,
        anything else that failed spends `retry_count`; transient and broken attempts are
        retried after a backoff. `task.timeout` bounds the whole task, retries and backoff
        included, so a suite never takes longer than the profile says.
        """
        log_path = prepare_task_folder(context.output_dir)
        deadline = Deadline(task.timeout)
        results: list[AttemptResult] = []
        rerun: list[TestCase] = []
        budget = RetryBudget(tests=task.retry_count, transient=task.retry_on_attempts)
        retry: Retry | None = None
        while True:
            scan = budget.transient > 0
            result = self._attempt(task, context, len(results) + 1, rerun, log_path, deadline, scan)
            if _judged_by_exit_code_after_junit(result, results):
                result = _without_results(result)
            results.append(_with_reason(result, retry))
            retry = budget.spend(result) if _worth_retrying(result) else None
            if retry is None:
                break
            if result.verdict is Verdict.failed:
                rerun = _problems(merge_cases(_histories(results)))
            if retry.backoff:
                delay = deadline.cap(backoff_delay(retry.backoff, task.retry_on_backoff))
                if context.stop.wait(delay):
                    break
            if deadline.expired():
                break
        segments = self.adapter.segments(context.output_dir)
        return _task_result(task, context, results, log_path).model_copy(
            update={"segments": segments}
        )

    def _attempt(
        self,
        task: Task,
        context: RunContext,
        number: int,
        rerun: list[TestCase],
        log_path: Path,
        deadline: Deadline,
        scan_output: bool,
    ) -> AttemptResult:
        """One invocation in its own emptied `attempt-<n>` folder.

        Its output is scanned for `retry_on` only when a transient retry could follow.
        """
        attempt_dir = fresh_folder(context.output_dir / f"attempt-{number}")
        try:
            invocation = self.adapter.invocation(task, context, attempt_dir, rerun)
        except ToolUnavailable as unavailable:
            return _unavailable(number, unavailable, log_path, context.secrets)
        env = task_environment(task, context, invocation, attempt_dir, number)
        argv = expand_argv(invocation.argv, env)
        remove_stale(invocation.junit)
        offset = log_path.stat().st_size if log_path.exists() else 0
        _log_header(log_path, number, most_attempts(task), argv, invocation, context.secrets)
        with FeedFollower(attempt_dir / FEED_NAME, context.on_test) as feed:
            process = run_process(
                argv,
                cwd=invocation.cwd,
                env=env,
                log_path=log_path,
                timeout=deadline.remaining(),
                stop=context.stop,
                guard=context.guard,
                on_line=context.on_output,
                on_poll=feed.poll,
                secrets=context.secrets,
            )
        judged = Judged(invocation, attempt_dir, number, process, feed.tests)
        result = self._judge(task, judged, log_path, offset)
        if _worth_retrying(result) and scan_output:
            seconds = deadline.cap(MATCH_SECONDS)
            result.transient = output_matches(
                log_path, offset, task.retry_on, context.stop, seconds
            )
        return result

    def _judge(self, task: Task, judged: Judged, log_path: Path, offset: int) -> AttemptResult:
        """Read the attempt's JUnit, or its feed where JUnit is missing, and weigh the exit code."""
        invocation, process, feed = judged.invocation, judged.process, judged.feed
        junit_paths = junit_files(invocation.junit)
        report = parse_junit(junit_paths)
        cases, error, verdict = report.cases, None, Verdict.passed
        from_feed = not _complete(report, junit_paths) and feed.seen
        if process.error is not None:
            error, verdict = process.error, Verdict.unrunnable
        elif process.cancelled:
            cases, error = _cut_short(report, junit_paths, feed, CaseStatus.interrupted)
            error, verdict = error or "stopped before it finished", Verdict.interrupted
        elif process.timed_out:
            cases, error = _cut_short(report, junit_paths, feed, CaseStatus.timed_out)
            error = error or f"timed out after {task.timeout or 0:g} s"
            verdict = Verdict.timed_out
        elif process.exit_code is not None:
            if from_feed:
                report = JunitReport(cases=feed.cases(CaseStatus.error, _crashed(process)))
            results = bool(junit_paths) or from_feed
            cases, error, verdict = self._weigh(task, process, report.cases, report.errors, results)
        cases = feed.with_costs(cases)
        attempt = Attempt(
            number=judged.number,
            command=process.argv,
            exit_code=process.exit_code,
            started_at=process.started_at,
            finished_at=process.finished_at,
            timed_out=process.timed_out,
            cancelled=process.cancelled,
            cases=cases,
            error=error,
            log_path=log_path,
            junit_paths=junit_paths,
        )
        artifacts = [*self.adapter.artifacts(judged.attempt_dir, invocation), *junit_paths]
        return AttemptResult(
            attempt,
            verdict,
            process.tail,
            artifacts,
            False,
            complete=not invocation.partial,
            wrote_junit=bool(junit_paths) or from_feed,
            not_run=feed.not_run if from_feed else 0,
        )

    def _weigh(
        self,
        task: Task,
        process: ProcessResult,
        cases: list[TestCase],
        junit_errors: list[str],
        wrote_results: bool,
    ) -> tuple[list[TestCase], str | None, Verdict]:
        """Cases, error and verdict of an attempt that ran to its end.

        Its results are its JUnit XML, or the tests its feed reported when it wrote none.

        A shard that exits cleanly may hold no tests, since Playwright shards whole files unless
        fullyParallel is on; the merged suite is checked for tests instead.
        """
        exit_code = process.exit_code if process.exit_code is not None else -1
        reason = self.adapter.infrastructure_error(exit_code, cases)
        if reason is not None:
            return cases, reason, Verdict.unrunnable
        if not wrote_results:
            fallback = self.adapter.cases_without_junit(task, exit_code, process.tail)
            if fallback is None:
                return [], f"{_exited(exit_code)} without writing JUnit XML", Verdict.broken
            return fallback, None, _verdict_of(fallback)
        if junit_errors:
            return cases, "; ".join(junit_errors), Verdict.broken
        if not cases and not (task.shard_of is not None and exit_code == 0):
            return cases, f"{_exited(exit_code)}; its JUnit XML holds no tests", Verdict.broken
        if exit_code != 0 and _verdict_of(cases) is Verdict.passed:
            return cases, f"{_exited(exit_code)} although no test failed", Verdict.broken
        return cases, None, _verdict_of(cases)


@dataclass(frozen=True)
class Judged:
    """What one attempt left to judge: how it ran, where, and what its feed said."""

    invocation: Invocation
    attempt_dir: Path
    number: int
    process: ProcessResult
    feed: FeedTests


def feed_file(attempt_dir: Path) -> Path:
    """The feed an attempt's tool writes its tests to, as `$QAAGENT_EVENTS` names it."""
    return attempt_dir / FEED_NAME


def _complete(report: JunitReport, junit_paths: list[Path]) -> bool:
    """Whether the tool wrote its JUnit XML whole, the authority for the attempt's cases."""
    return bool(junit_paths) and not report.errors


def _cut_short(
    report: JunitReport, junit_paths: list[Path], feed: FeedTests, status: CaseStatus
) -> tuple[list[TestCase], str | None]:
    """Cases of an attempt that was stopped or timed out, and the error naming its running test.

    Complete JUnit stands; without it the feed's finished tests keep their outcomes and each
    test still running gets `status` and the time it had run.
    """
    if _complete(report, junit_paths) or not feed.seen:
        return report.cases, None
    cases = feed.cases(status)
    running = [case for case in cases if case.status is status]
    if not running:
        return cases, None
    what = "timed out" if status is CaseStatus.timed_out else "stopped"
    return cases, f"{what} in {running[0].id} after {running[0].duration:.1f}s"


def _crashed(process: ProcessResult) -> str:
    """Why a test still running had no result: the tool ended under it."""
    return f"the tool {_exited(process.exit_code if process.exit_code is not None else -1)}"


def _unavailable(
    number: int, unavailable: ToolUnavailable, log_path: Path, secrets: SecretValues
) -> AttemptResult:
    """An attempt whose tool could not start, recorded in the log; never worth a retry."""
    now = datetime.now(UTC)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(secrets.mask(f"qaagent: {unavailable.message}\n"))
    attempt = Attempt(
        number=number,
        command=unavailable.command,
        started_at=now,
        finished_at=now,
        error=unavailable.message,
        log_path=log_path,
    )
    return AttemptResult(
        attempt, Verdict.unrunnable, [], [], transient=False, complete=True, wrote_junit=False
    )


def merge_cases(attempts: list[tuple[list[TestCase], bool]]) -> list[TestCase]:
    """Final cases from `(cases, complete)` attempts: the latest result of each test.

    A complete run that produced cases replaces everything before it; a rerun of some tests
    replaces only the cases of those tests, in their place. A test that failed in an earlier
    attempt and passes now is flaky.
    """
    merged: list[TestCase] = []
    failed_before: set[str] = set()
    for cases, complete in attempts:
        fresh: dict[str, list[TestCase]] = {}
        for case in cases:
            flaky = case.test_key in failed_before and case.status is CaseStatus.passed
            fresh.setdefault(case.test_key, []).append(
                case.model_copy(update={"flaky": True}) if flaky else case
            )
        if complete and cases:
            merged = []
        merged = _replace_in_place(merged, fresh)
        failed_before.update(case.test_key for case in cases if case.status in PROBLEM_STATUSES)
    return merged


def _replace_in_place(cases: list[TestCase], fresh: dict[str, list[TestCase]]) -> list[TestCase]:
    """Cases of each rerun test swapped for its new ones where it stood; new tests at the end."""
    result: list[TestCase] = []
    replaced: set[str] = set()
    for case in cases:
        key = case.test_key
        if key not in fresh:
            result.append(case)
        elif key not in replaced:
            result.extend(fresh[key])
            replaced.add(key)
    unseen = [group for key, group in fresh.items() if key not in replaced]
    return result + [case for group in unseen for case in group]


def task_environment(
    task: Task, context: RunContext, invocation: Invocation, attempt_dir: Path, number: int
) -> dict[str, str]:
    """Inherited environment, then the suite's, the run's, qaagent's and the tool's own."""
    env = tool_environment(task, context)
    env.update(
        {FEED_VARIABLE: str(feed_file(attempt_dir))},
        QAAGENT_JUNIT=str(invocation.junit),
        QAAGENT_OUTPUT_DIR=str(attempt_dir),
        QAAGENT_TASK=task.name,
        QAAGENT_ATTEMPT=str(number),
    )
    env.update(invocation.env)
    return env


def tool_environment(task: Task, context: RunContext) -> dict[str, str]:
    """Inherited environment, then the suite's and the run's, and the Chromium to use."""
    env = {**os.environ, **task.env, **context.env}
    if context.chromium:
        env["QAAGENT_CHROMIUM"] = context.chromium
    return env


def expand_argv(argv: list[str], env: Mapping[str, str]) -> list[str]:
    """Expand `$VAR` and `${VAR}` as a shell would; unknown names stay as written, `$$` is `$`."""
    return [string.Template(arg).safe_substitute(env) for arg in argv]


def prepare_task_folder(output_dir: Path) -> Path:
    """Clear what an earlier run of the task left (attempt folders, log); return the log path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for old in output_dir.glob("attempt-*"):
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
    log_path = output_dir / LOG_NAME
    log_path.unlink(missing_ok=True)
    return log_path


def fresh_folder(path: Path) -> Path:
    """An empty folder, so nothing a previous run left can be read as this attempt's output."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def remove_stale(junit: Path) -> None:
    """Delete a JUnit file, or the XML files of a JUnit folder, left by an earlier run."""
    if junit.is_dir():
        for old in junit.glob("*.xml"):
            old.unlink()
    else:
        junit.unlink(missing_ok=True)


def junit_files(junit: Path) -> list[Path]:
    """The JUnit file if it was written, or every XML file of a JUnit folder."""
    if junit.is_dir():
        return sorted(junit.glob("*.xml"))
    return [junit] if junit.is_file() else []


def backoff_delay(retry: int, base: float) -> float:
    """Exponential backoff with jitter: about base, 2x base, 4x base ..., capped."""
    return min(BACKOFF_CAP, base * 2.0 ** (retry - 1)) * random.uniform(0.5, 1.5)


def _with_reason(result: AttemptResult, retry: Retry | None) -> AttemptResult:
    """The attempt with why it ran: nothing for the first, the retry's reason for the others."""
    if retry is None:
        return result
    return replace(result, attempt=result.attempt.model_copy(update={"reason": retry.reason}))


def _histories(results: list[AttemptResult]) -> list[tuple[list[TestCase], bool]]:
    return [(result.attempt.cases, result.complete) for result in results]


def _judged_by_exit_code_after_junit(result: AttemptResult, earlier: list[AttemptResult]) -> bool:
    """A retry without JUnit XML after attempts with it has no results that could clear theirs."""
    judged = result.verdict in (Verdict.passed, Verdict.failed) and not result.wrote_junit
    return judged and any(attempt.wrote_junit for attempt in earlier)


def _without_results(result: AttemptResult) -> AttemptResult:
    """The attempt as broken and without cases, so the earlier results stand."""
    attempt = result.attempt
    error = (
        f"{_exited(attempt.exit_code if attempt.exit_code is not None else -1)} without writing "
        "JUnit XML, unlike the attempt before it; the earlier results stand"
    )
    return replace(
        result,
        attempt=attempt.model_copy(update={"cases": [], "error": error}),
        verdict=Verdict.broken,
    )


def _worth_retrying(result: AttemptResult) -> bool:
    return result.verdict in (Verdict.failed, Verdict.broken)


def _problems(cases: list[TestCase]) -> list[TestCase]:
    return [case for case in cases if case.status in PROBLEM_STATUSES]


def _verdict_of(cases: list[TestCase]) -> Verdict:
    """Timed out when a test was cut short (a forked part killed alone), else failed or passed."""
    if any(case.status is CaseStatus.timed_out for case in cases):
        return Verdict.timed_out
    return Verdict.failed if _problems(cases) else Verdict.passed


def _exited(exit_code: int) -> str:
    return f"killed by signal {-exit_code}" if exit_code < 0 else f"exited with {exit_code}"


def most_attempts(task: Task) -> int:
    """The first attempt, the test retries, and the transient retries when retry_on is set."""
    transient = task.retry_on_attempts if task.retry_on else 0
    return 1 + task.retry_count + transient


def _log_header(
    log_path: Path,
    number: int,
    total: int,
    argv: list[str],
    invocation: Invocation,
    secrets: SecretValues,
) -> None:
    """A line per attempt in the shared log, saying what ran where, with secrets masked."""
    notes = "".join(f"qaagent: {note}\n" for note in invocation.notes)
    header = (
        f"=== qaagent attempt {number} of at most {total}: {shlex.join(argv)}"
        f" (in {invocation.cwd}) ===\n{notes}"
    )
    with log_path.open("a", encoding="utf-8") as log:
        log.write(secrets.mask(header))


OUTCOMES = {
    Verdict.passed: TaskOutcome.passed,
    Verdict.failed: TaskOutcome.failed,
    Verdict.broken: TaskOutcome.error,
    Verdict.unrunnable: TaskOutcome.error,
    Verdict.timed_out: TaskOutcome.timed_out,
    Verdict.interrupted: TaskOutcome.interrupted,
}


def _task_result(
    task: Task, context: RunContext, results: list[AttemptResult], log_path: Path
) -> TaskResult:
    """The task's result: final cases merged over attempts, the last attempt's verdict."""
    last = results[-1]
    cases = merge_cases(_histories(results))
    outcome = OUTCOMES[last.verdict]
    if context.stop.is_set() and outcome is not TaskOutcome.passed:
        outcome = TaskOutcome.interrupted
    if outcome is TaskOutcome.passed and _problems(cases):
        outcome = TaskOutcome.failed
    return TaskResult(
        task=task.name,
        suite=task.suite,
        kind=task.kind,
        outcome=outcome,
        counts=Counts.of(cases).model_copy(update={"not_run": last.not_run}),
        cost=total_cost(cases),
        cases=cases,
        attempts=[result.attempt for result in results],
        exit_code=last.attempt.exit_code,
        error=last.attempt.error,
        output_dir=context.output_dir,
        log_path=log_path,
        artifacts=[path for result in results for path in result.artifacts] + [log_path],
        tail=last.tail,
        started_at=results[0].attempt.started_at,
        finished_at=last.attempt.finished_at,
        matrix=task.matrix,
    )
