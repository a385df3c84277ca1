"""`reports/report.html`: one self-contained page with the summary, tasks, failures and a timeline."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from jinja2 import Environment, PackageLoader, Template, select_autoescape

from qaagent import __version__
from qaagent.evidence.models import ARTIFACTS_DIR, TESTS_NAME, TaskEntry
from qaagent.evidence.stored import FAILING, RunBundle, as_utc, path_in_run
from qaagent.reporting.links import RunLinks
from qaagent.reporting.markdown import format_seconds
from qaagent.reporting.summary import FailureSummary, RunSummary, build_summary
from qaagent.reporting.terminal import plain_text

LOG_TAIL_LINES = 60
LOG_TAIL_BYTES = 64_000
MAX_OUTPUT = 20_000
FAILURES_SHOWN_PER_TASK = 50
FAILURES_OPEN = 5
TICKS = 6


@dataclass(frozen=True)
class Bar:
    """One task on the timeline, positioned in percent of the run's wall time."""

    task: str
    label: str
    outcome: str
    lane: int
    left: float
    width: float
    start: float
    duration: float


@dataclass(frozen=True)
class Timeline:
    """Bars grouped in lanes (one per worker) with a time axis."""

    lanes: list[str]
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    span: float


@dataclass(frozen=True)
class FailureView:
    """A failure with the output a person needs to understand it."""

    task: str
    subject: str
    category: str
    status: str
    message: str
    suggestion: str
    location: str
    output: str
    attempts: int
    open: bool


@dataclass(frozen=True)
class TaskFailures:
    """A task's first failures in full; the rest are counted and left to the run's full lists."""

    task: str
    shown: list[FailureView]
    more: int
    full_lists: list[Link]


@dataclass(frozen=True)
class Link:
    """A file of the run as the page links to it."""

    label: str
    href: str


@dataclass(frozen=True)
class TaskFiles:
    """A task's log, the logs of its shards and its other files (JUnit, screenshots, traces)."""

    log: Link | None
    shards: list[Link]
    others: list[Link]


def render_html(bundle: RunBundle, summary: RunSummary | None = None, *, destination: Path) -> str:
    """The HTML page of one run, to be written to `destination`, which its links start from."""
    summary = summary or build_summary(bundle)
    links = RunLinks.for_report(bundle.run_dir, destination)
    return report_template().render(
        summary=summary,
        timeline=build_timeline(bundle),
        failures=failures_by_task(bundle, summary, links),
        failure_count=len(summary.failures),
        flaky=[record for record in bundle.final_records() if record.flaky],
        files={task.name: task_files(task, links) for task in bundle.manifest.tasks},
        version=__version__,
    )


def task_files(task: TaskEntry, links: RunLinks) -> TaskFiles:
    """Links to every file the manifest lists for a task, each file once."""
    logs = {task.log, *(segment.log for segment in task.segments)}
    others = [entry for entry in dict.fromkeys([*task.junit, *task.artifacts]) if entry not in logs]
    return TaskFiles(
        log=Link("log", links.href(task.log)) if task.log else None,
        shards=[
            Link(f"{segment.label} log", links.href(segment.log))
            for segment in task.segments
            if segment.log
        ],
        others=[Link(file_label(entry), links.href(entry)) for entry in others],
    )


def file_label(entry: str) -> str:
    """A file's path inside its task's artifacts folder, or its name when it lies elsewhere."""
    parts = PurePosixPath(entry).parts
    if len(parts) > 2 and parts[0] == ARTIFACTS_DIR:
        return "/".join(parts[2:])
    return PurePosixPath(entry).name


@functools.cache
def report_template() -> Template:
    """The compiled page template, built once per process."""
    return _environment().get_template("report.html.j2")


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("qaagent.reporting", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["seconds"] = format_seconds
    environment.filters["clock"] = _clock
    return environment


def _clock(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


@dataclass(frozen=True)
class Span:
    """When one task ran, in UTC, and on which worker if recorded."""

    task: str
    label: str
    outcome: str
    worker: int | None
    start: datetime
    end: datetime


def build_timeline(bundle: RunBundle) -> Timeline:
    """Where each task ran and when, relative to the start of the run."""
    manifest = bundle.manifest
    origin = as_utc(manifest.started_at)
    spans = [span for task in manifest.tasks for span in _spans(task)]
    ends = [(span.end - origin).total_seconds() for span in spans]
    total = max([manifest.wall_time, *ends, 0.001])
    lanes, lane_names = _lanes(spans)
    bars = [_bar(span, lanes[span.label], origin, total) for span in spans]
    return Timeline(lanes=lane_names, bars=bars, ticks=_ticks(total), span=total)


def _spans(task: TaskEntry) -> list[Span]:
    """A task's bars: one per shard of a split suite, else one for the whole task."""
    parts = [
        (segment.label, segment.outcome, segment.worker, segment.started_at, segment.finished_at)
        for segment in task.segments
    ] or [(task.name, task.outcome, task.worker, task.started_at, task.finished_at)]
    return [
        Span(task.name, label, outcome.value, worker, as_utc(start), as_utc(end))
        for label, outcome, worker, start, end in parts
        if start is not None and end is not None
    ]


def _bar(span: Span, lane: int, origin: datetime, total: float) -> Bar:
    start = max((span.start - origin).total_seconds(), 0.0)
    duration = max((span.end - span.start).total_seconds(), 0.0)
    return Bar(
        task=span.task,
        label=span.label,
        outcome=span.outcome,
        lane=lane,
        left=round(100 * start / total, 3),
        width=round(max(100 * duration / total, 0.4), 3),
        start=start,
        duration=duration,
    )


def _lanes(spans: list[Span]) -> tuple[dict[str, int], list[str]]:
    """Lanes of the recorded workers, else the first lane free when each task started."""
    workers = sorted({span.worker for span in spans if span.worker is not None})
    if workers and all(span.worker is not None for span in spans):
        index = {worker: position for position, worker in enumerate(workers)}
        lanes = {span.label: index[span.worker] for span in spans if span.worker is not None}
        return lanes, [f"worker {worker}" for worker in workers]
    lane_ends: list[datetime] = []
    lanes = {}
    for span in sorted(spans, key=lambda span: span.start):
        free = next((lane for lane, busy in enumerate(lane_ends) if busy <= span.start), None)
        if free is None:
            lane_ends.append(span.end)
            free = len(lane_ends) - 1
        lane_ends[free] = span.end
        lanes[span.label] = free
    return lanes, [f"lane {number + 1}" for number in range(len(lane_ends))]


def _ticks(span: float) -> list[tuple[float, str]]:
    step = span / TICKS
    return [
        (round(100 * index / TICKS, 3), format_seconds(step * index)) for index in range(TICKS + 1)
    ]


def failures_by_task(
    bundle: RunBundle, summary: RunSummary, links: RunLinks, shown: int = FAILURES_SHOWN_PER_TASK
) -> list[TaskFailures]:
    """Each task's first `shown` failures; a page with every one of 50,000 would not open."""
    grouped: dict[str, list[FailureSummary]] = {}
    for failure in summary.failures:
        grouped.setdefault(failure.task, []).append(failure)
    outputs = _outputs_of(bundle, [item for items in grouped.values() for item in items[:shown]])
    logs = {task.name: task.log for task in bundle.manifest.tasks}
    junit = {task.name: task.junit for task in bundle.manifest.tasks}
    views: list[TaskFailures] = []
    opened = 0
    for task, failures in grouped.items():
        blocks = []
        for failure in failures[:shown]:
            if failure.test_id is None:
                output = _log_tail(bundle.run_dir, logs.get(task))
            else:
                output = outputs.get((task, failure.test_id), "")
            blocks.append(_failure_view(failure, output, opened < FAILURES_OPEN))
            opened += 1
        full_lists = [Link(TESTS_NAME, links.href(TESTS_NAME))] + [
            Link(file_label(entry), links.href(entry)) for entry in junit.get(task, [])
        ]
        views.append(TaskFailures(task, blocks, len(failures) - len(blocks), full_lists))
    return views


def _outputs_of(bundle: RunBundle, failures: list[FailureSummary]) -> dict[tuple[str, str], str]:
    """The output of the failed tests the page shows, and of no others."""
    wanted = {(failure.task, failure.test_id) for failure in failures if failure.test_id}
    return {
        (record.task, record.test_id): record.output or ""
        for record in bundle.final_records()
        if record.status in FAILING and (record.task, record.test_id) in wanted
    }


def _failure_view(failure: FailureSummary, output: str, opened: bool) -> FailureView:
    location = f"{failure.file}:{failure.line}" if failure.file and failure.line else failure.file
    return FailureView(
        task=failure.task,
        subject=failure.test_id or f"task {failure.task}",
        category=failure.category.value,
        status=failure.status,
        message=failure.message or "",
        suggestion=failure.suggestion or "",
        location=location or "",
        output=_clip(output),
        attempts=failure.attempts,
        open=opened,
    )


def _log_tail(run_dir: Path, log: str | None) -> str:
    """The last lines of a task's log: where a crash or timeout shows."""
    if not log:
        return ""
    path = path_in_run(run_dir, log)
    if path is None:
        return f"qaagent refused to read the log {log}: it lies outside the run folder."
    if not path.is_file():
        return ""
    with path.open("rb") as stream:
        stream.seek(max(path.stat().st_size - LOG_TAIL_BYTES, 0))
        tail = stream.read().decode("utf-8", errors="replace")
    return "\n".join(tail.splitlines()[-LOG_TAIL_LINES:])


def _clip(text: str) -> str:
    text = plain_text(text)
    return text if len(text) <= MAX_OUTPUT else "…" + text[-MAX_OUTPUT:]
