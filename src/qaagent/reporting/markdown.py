"""`reports/summary.md`: a short Markdown summary, also what a GitHub job summary shows."""

from __future__ import annotations

import html
import re

from qaagent.model.outcomes import TaskOutcome, describe_counts
from qaagent.model.run import RunStatus
from qaagent.reporting.summary import FailureSummary, RunSummary, SummaryCounts, TaskSummary

MAX_FAILURES = 20
BACKTICKS = re.compile(r"`+")
STATUS_MARKS = {
    RunStatus.passed: "✅",
    RunStatus.failed: "❌",
    RunStatus.error: "💥",
    RunStatus.interrupted: "⏹️",
    RunStatus.running: "⏳",
}
OUTCOME_MARKS = {
    TaskOutcome.passed: "✅ passed",
    TaskOutcome.failed: "❌ failed",
    TaskOutcome.error: "💥 error",
    TaskOutcome.timed_out: "⏱️ timed out",
    TaskOutcome.not_run: "⏭️ not run",
    TaskOutcome.interrupted: "⏹️ interrupted",
    TaskOutcome.cached: "♻️ cached",
}


def render_markdown(summary: RunSummary) -> str:
    """Heading, counts, timings, a task table and the first failures."""
    run = summary.run
    title = f"{_cell(run.project)} · " if run.project else ""
    lines = [
        f"## {STATUS_MARKS[run.status]} qaagent {title}run {code_span(run.id)}: {run.status.value}",
        "",
        counts_sentence(summary.counts),
        "",
        _timing_sentence(summary),
        "",
        "| task | result | passed | failed | errors | skipped | flaky | duration |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for task in summary.tasks:
        counts = task.counts
        lines.append(
            f"| {_cell(task.name)} | {outcome_cell(task)} | {counts.passed} | "
            f"{counts.failed} | {counts.errors} | {counts.skipped} | {counts.flaky} | "
            f"{format_seconds(task.duration)} |"
        )
    lines.extend(_failure_lines(summary.failures))
    return "\n".join(lines) + "\n"


def outcome_cell(task: TaskSummary) -> str:
    """The task's outcome, and for a cached task the run that stands for it."""
    mark = OUTCOME_MARKS[task.outcome]
    return mark if task.cached_from is None else f"{mark} from {code_span(task.cached_from)}"


def counts_sentence(counts: SummaryCounts) -> str:
    """`12 tests: 10 passed, 1 failed, 1 flaky` with the zero counts left out, and any cost."""
    sentence = f"**{counts.total} tests**: {describe_counts(counts) or 'none ran'}"
    return sentence if counts.cost is None else f"{sentence}; cost {counts.cost:g}"


def _timing_sentence(summary: RunSummary) -> str:
    timings = summary.timings
    text = (
        f"Wall time {format_seconds(timings.wall_time)}, "
        f"task time {format_seconds(timings.task_time)}"
    )
    if timings.parallelism is not None:
        text += f", parallelism {timings.parallelism:.2f}x"
    return text + "."


def _failure_lines(failures: list[FailureSummary]) -> list[str]:
    if not failures:
        return []
    lines = ["", f"### Failures ({len(failures)})", ""]
    for failure in failures[:MAX_FAILURES]:
        subject = failure.test_id or f"task {failure.task}"
        message = first_line(failure.message)
        where = f" ({failure.task})" if failure.test_id else ""
        lines.append(
            f"- {code_span(subject)}{_cell(where)} · {failure.category.value}"
            + (f": {_cell(message)}" if message else "")
        )
    if len(failures) > MAX_FAILURES:
        lines.append(f"- … and {len(failures) - MAX_FAILURES} more (see report.html)")
    return lines


def truncate_markdown(text: str, limit: int, note: str) -> str:
    """The text within `limit` UTF-8 bytes: whole lines, then `note` saying where the rest is."""
    if len(text.encode("utf-8")) <= limit:
        return text
    ending = f"\n{note}\n"
    room = limit - len(ending.encode("utf-8"))
    kept: list[str] = []
    for line in text.splitlines(keepends=True):
        size = len(line.encode("utf-8"))
        if size > room:
            break
        kept.append(line)
        room -= size
    if room < 0:
        return ""
    return "".join(kept) + ending


def first_line(text: str | None) -> str:
    """The first non-empty line, short enough for one table cell or list item."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def format_seconds(seconds: float) -> str:
    """`0.4s`, `12.3s`, `3m 05s`, `1h 02m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _cell(text: str) -> str:
    """Text that shows as written: no HTML of its own, nothing that breaks a table row."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return html.escape(escaped, quote=False)


def code_span(text: str) -> str:
    """Inline code whose fence is longer than any run of backticks inside, so it cannot end early."""
    flat = " ".join(text.splitlines())
    fence = "`" * (max((len(run) for run in BACKTICKS.findall(flat)), default=0) + 1)
    padding = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{padding}{flat}{padding}{fence}"
