"""The event stream: one publisher numbers, stamps, masks and fans out every event of a run."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from qaagent.commands.run_support import open_event_lines
from qaagent.commands.schema_cmd import DRAFT_07, events_schema
from qaagent.errors import UsageError
from qaagent.execute.backend import Event, EventKind
from qaagent.execute.events import EventPublisher, JsonLines, PublishingWatcher
from qaagent.execute.orchestrator import STOPPING
from qaagent.model import events
from qaagent.model.outcomes import CaseStatus, TaskOutcome, TestCase
from qaagent.model.results import TaskResult
from qaagent.model.run import StopReason
from qaagent.secrets import SecretValues


class Recorder:
    def __init__(self) -> None:
        self.events: list[events.EventBase] = []

    def __call__(self, event: events.EventBase) -> None:
        self.events.append(event)


def published(*internal: Event, secrets: SecretValues | None = None) -> list[dict[str, Any]]:
    """The orchestrator's events as the public stream writes them."""
    publisher = EventPublisher("run-1", secrets or SecretValues(()))
    stream = io.StringIO()
    publisher.subscribe(JsonLines(stream))
    watcher = PublishingWatcher(publisher, lambda: None)
    for event in internal:
        watcher.event(event)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_subscriber_gets_every_event_numbered_without_gaps_with_the_run_id() -> None:
    publisher = EventPublisher("20260101T000000Z-abcdef")
    first, second = Recorder(), Recorder()
    publisher.subscribe(first)
    publisher.subscribe(second)
    before = datetime.now(UTC)
    publisher.publish(events.TaskStarted, task="unit", worker=0)
    publisher.publish(events.TaskOutput, task="unit", worker=0, line="hello")
    publisher.publish(events.RunFinished, exit_code=0, status="passed", wall_time=1.0)
    assert first.events == second.events
    assert [event.seq for event in first.events] == [1, 2, 3]
    assert {event.run_id for event in first.events} == {"20260101T000000Z-abcdef"}
    assert all(before <= event.time <= datetime.now(UTC) for event in first.events)
    assert all(event.time.utcoffset() == timedelta(0) for event in first.events)


def test_secret_values_are_masked_in_every_field_before_a_subscriber_sees_them() -> None:
    publisher = EventPublisher("run-1", SecretValues(["s3cret-value"]))
    recorder = Recorder()
    publisher.subscribe(recorder)
    publisher.publish(events.TaskOutput, task="unit", line="token=s3cret-value")
    publisher.publish(
        events.Planned,
        workers=1,
        tasks=[{"name": "evals[key=s3cret-value]", "suite": "evals", "kind": "command"}],
    )
    text = "".join(event.model_dump_json() for event in recorder.events)
    assert "s3cret-value" not in text
    assert "token=***" in text


def test_the_json_lines_are_ascii_with_the_tools_escape_sequences_escaped() -> None:
    lines = published(Event(EventKind.output, "unit", 0, line="\x1b[31mred\x1b[0m é"))
    assert lines[0]["line"] == "\x1b[31mred\x1b[0m é"
    publisher = EventPublisher("run-1")
    stream = io.StringIO()
    publisher.subscribe(JsonLines(stream))
    publisher.publish(events.TaskOutput, task="unit", line="\x1b[2J")
    assert "\x1b" not in stream.getvalue()
    assert stream.getvalue().isascii()


def test_a_reader_that_goes_away_silences_the_lines_not_the_run() -> None:
    class Gone(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    writer = JsonLines(Gone())
    publisher = EventPublisher("run-1")
    publisher.subscribe(writer)
    publisher.publish(events.TaskStarted, task="unit")
    publisher.publish(events.TaskStarted, task="lint")
    assert writer.reader_gone


def test_task_events_are_published_and_ticks_reach_the_progress() -> None:
    ticks: list[None] = []
    publisher = EventPublisher("run-1")
    recorder = Recorder()
    publisher.subscribe(recorder)
    publishing = PublishingWatcher(publisher, lambda: ticks.append(None))
    publishing.event(Event(EventKind.started, "unit", 1))
    publishing.tick()
    assert len(ticks) == 1
    assert [event.kind for event in recorder.events] == ["task-started"]


def test_a_finished_task_states_its_outcome_and_counts_as_the_reports_do() -> None:
    result = TaskResult(
        task="checks",
        suite="checks",
        kind="pytest",
        outcome=TaskOutcome.timed_out,
        error="timed out after 5s",
        cases=[TestCase(id="c::t", name="t", status=CaseStatus.passed)],
    )
    (finished,) = published(Event(EventKind.finished, "checks", 2, result=result))
    assert finished["kind"] == "task-finished"
    assert finished["worker"] == 2
    assert finished["outcome"] == "timed-out"
    assert finished["counts"]["passed"] == 1
    assert finished["counts"]["errors"] == 1
    assert finished["error"] == "timed out after 5s"


def test_stopping_names_its_reason() -> None:
    line = STOPPING[StopReason.max_failures]
    (stopping,) = published(Event(EventKind.stopping, "", line=line))
    assert stopping == {**stopping, "reason": "max-failures", "message": line}


def test_nothing_is_built_while_nobody_listens() -> None:
    publisher = EventPublisher("run-1")
    publisher.publish(events.TaskStarted, task="unit")
    recorder = Recorder()
    publisher.subscribe(recorder)
    publisher.publish(events.TaskStarted, task="lint")
    assert [event.seq for event in recorder.events] == [1]


def every_kind() -> list[events.EventBase]:
    stamp: dict[str, Any] = {"run_id": "run-1", "seq": 1, "time": datetime.now(UTC)}
    return [
        events.Planned(
            **stamp,
            workers=2,
            tasks=[events.PlannedTask(name="unit", suite="unit", kind="pytest")],
        ),
        events.TaskStarted(**stamp, task="unit", worker=0),
        events.TaskOutput(**stamp, task="unit", worker=0, line="ok"),
        events.TaskFinished(
            **stamp, task="unit", worker=0, outcome="passed", counts={"passed": 1}, duration=0.5
        ),
        events.TestsCollected(**stamp, task="unit", count=1),
        events.TestStarted(**stamp, task="unit", test="test_a"),
        events.TestFinished(**stamp, task="unit", test="test_a", outcome="passed"),
        events.Stopping(**stamp, reason="fail-fast", message="stopping"),
        events.ReportWritten(**stamp, format="junit", path="reports/junit.xml"),
        events.EvidenceWritten(**stamp, run_dir="/tmp/run", stored=True),
        events.RunFinished(**stamp, exit_code=1, status="failed", wall_time=2.0),
    ]


def test_the_published_schema_is_draft_07_and_accepts_every_kind_round_tripped() -> None:
    schema = events_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT_07
    assert "#/$defs/" not in json.dumps(schema)
    validator = jsonschema.Draft7Validator(schema)
    kinds = set()
    for event in every_kind():
        data = json.loads(event.model_dump_json())
        assert not list(validator.iter_errors(data)), data
        assert events.EVENT.validate_python(data) == event
        kinds.add(data["kind"])
    assert len(kinds) == len(schema["oneOf"]) == 11


def test_the_schema_refuses_a_line_missing_its_stamp_or_of_an_unknown_kind() -> None:
    validator = jsonschema.Draft7Validator(events_schema())
    good = json.loads(every_kind()[1].model_dump_json())
    assert list(validator.iter_errors({key: value for key, value in good.items() if key != "seq"}))
    assert list(validator.iter_errors({**good, "kind": "task-exploded"}))
    assert list(validator.iter_errors({**good, "seq": 0}))


@pytest.mark.parametrize(
    ("option", "json_output", "message"),
    [
        ("xml", False, "use jsonl .on stdout. or jsonl=PATH"),
        ("jsonl=", False, "use jsonl .on stdout. or jsonl=PATH"),
        ("jsonl", True, "both want stdout"),
    ],
)
def test_a_malformed_events_option_is_a_usage_error(
    option: str, json_output: bool, message: str
) -> None:
    with pytest.raises(UsageError, match=message), open_event_lines(option, json_output):
        pass


def test_events_in_a_missing_folder_are_a_usage_error_naming_the_file(tmp_path: Any) -> None:
    missing = tmp_path / "nowhere" / "events.jsonl"
    with (
        pytest.raises(UsageError, match="its folder must exist") as caught,
        open_event_lines(f"jsonl={missing}", json_output=False),
    ):
        pass
    assert str(missing) in caught.value.message


def test_a_tools_live_feed_becomes_test_events_and_incomplete_lines_are_dropped() -> None:
    from qaagent.model.live import LiveTest

    lines = published(
        Event(EventKind.test, "unit", 1, test=LiveTest(event="collected", count=2)),
        Event(EventKind.test, "unit", 1, test=LiveTest(event="started", test="t.py::a")),
        Event(
            EventKind.test,
            "unit",
            1,
            test=LiveTest(test="t.py::a", outcome="failed", duration=0.5, line=3, message="no"),
        ),
        Event(EventKind.test, "unit", 1, test=LiveTest(event="finished", test="t.py::b")),
    )
    assert [line["kind"] for line in lines] == ["tests-collected", "test-started", "test-finished"]
    assert lines[0]["count"] == 2
    assert lines[2] == {
        **lines[2],
        "task": "unit",
        "test": "t.py::a",
        "worker": 1,
        "outcome": "failed",
        "duration": 0.5,
        "line": 3,
        "message": "no",
    }


def test_a_failed_task_finishes_with_its_tail_and_its_log_inside_the_run_folder(
    tmp_path: Any,
) -> None:
    output_dir = tmp_path / "run" / "artifacts" / "unit"
    absolute = TaskResult(
        task="unit",
        suite="unit",
        kind="pytest",
        outcome=TaskOutcome.failed,
        output_dir=output_dir,
        log_path=output_dir / "attempt-1" / "output.log",
        tail=["E   assert 1 == 2"],
    )
    result = absolute.relative_to(tmp_path / "run")
    (finished,) = published(Event(EventKind.finished, "unit", 0, result=result))
    assert finished["tail"] == ["E   assert 1 == 2"]
    assert finished["log"] == "artifacts/unit/attempt-1/output.log"
