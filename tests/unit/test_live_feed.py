"""The live feed follower and the results it keeps for an attempt that was cut short."""

from __future__ import annotations

from pathlib import Path

from qaagent.model.live import LiveTest
from qaagent.model.outcomes import CaseStatus, TaskOutcome, TestCase, task_counts, total_cost
from qaagent.tools.feed import FeedFollower, FeedTests


def test_only_complete_lines_are_handed_on(tmp_path: Path) -> None:
    feed = tmp_path / "live.jsonl"
    seen: list[LiveTest] = []
    follower = FeedFollower(feed, seen.append)
    feed.write_text(
        '{"test": "t::a", "outcome": "passed"}\n{"test": "t::b", "out', encoding="utf-8"
    )
    follower.read_new_lines()
    assert [test.test for test in seen] == ["t::a"]
    with feed.open("a", encoding="utf-8") as stream:
        stream.write('come": "failed"}\n')
    follower.read_new_lines()
    assert [(test.test, test.outcome) for test in seen] == [("t::a", "passed"), ("t::b", "failed")]


def test_malformed_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    feed = tmp_path / "live.jsonl"
    feed.write_text(
        'not json\n{"event": "bogus"}\n{"duration": -1}\n{"event": "started", "test": "t::a"}\n',
        encoding="utf-8",
    )
    follower = FeedFollower(feed, None)
    follower.read_new_lines()
    assert follower.malformed == 3
    assert list(follower.tests.running) == ["t::a"]


def test_the_follower_drains_the_feed_when_the_attempt_ends(tmp_path: Path) -> None:
    feed = tmp_path / "live.jsonl"
    seen: list[LiveTest] = []
    with FeedFollower(feed, seen.append):
        feed.write_text('{"event": "collected", "count": 2}\n', encoding="utf-8")
    assert [test.event for test in seen] == ["collected"]


def test_the_parts_collected_counts_add_up_and_are_handed_on_as_the_suites(
    tmp_path: Path,
) -> None:
    feed = tmp_path / "live.jsonl"
    seen: list[LiveTest] = []
    follower = FeedFollower(feed, seen.append)
    feed.write_text(
        '{"event": "collected", "count": 69, "part": "u[shard=1/2]"}\n'
        '{"event": "collected", "count": 76, "part": "u[shard=2/2]"}\n'
        '{"event": "collected", "count": 70, "part": "u[shard=1/2]"}\n',
        encoding="utf-8",
    )
    follower.read_new_lines()
    assert [(test.count, test.part) for test in seen] == [(69, None), (145, None), (146, None)]
    assert follower.tests.collected == 146


def test_a_missing_feed_is_no_tests() -> None:
    follower = FeedFollower(Path("/nonexistent/live.jsonl"), None)
    follower.read_new_lines()
    assert not follower.tests.seen


def test_finished_tests_keep_their_outcomes_and_the_running_one_is_cut_short() -> None:
    tests = FeedTests()
    for line in (
        LiveTest(event="collected", count=5),
        LiveTest(event="started", test="t::one"),
        LiveTest(test="t::one", outcome="passed", duration=0.5, cost=2.0),
        LiveTest(event="started", test="t::two"),
    ):
        tests.add(line)
    cases = tests.cases(CaseStatus.timed_out)
    assert [(case.id, case.status) for case in cases] == [
        ("t::one", CaseStatus.passed),
        ("t::two", CaseStatus.timed_out),
    ]
    assert cases[0].cost == 2.0
    assert tests.not_run == 3


def test_a_teardown_error_is_a_second_case_of_the_same_test() -> None:
    tests = FeedTests()
    tests.add(LiveTest(test="t::a", outcome="passed"))
    tests.add(LiveTest(test="t::a", outcome="error", message="teardown"))
    assert [case.id for case in tests.cases(CaseStatus.interrupted)] == ["t::a", "t::a #2"]


def test_without_a_collected_count_no_test_is_counted_as_not_run() -> None:
    tests = FeedTests()
    tests.add(LiveTest(event="started", test="t::a"))
    assert tests.not_run == 0


def test_a_named_timed_out_test_stands_for_the_task_error() -> None:
    hung = TestCase(id="t::hang", name="t::hang", status=CaseStatus.timed_out)
    passed = TestCase(id="t::ok", name="t::ok", status=CaseStatus.passed)
    counts = task_counts(TaskOutcome.timed_out, [passed, hung], not_run=2)
    assert (counts.passed, counts.timed_out, counts.not_run, counts.errors) == (1, 1, 2, 0)
    assert counts.total == 4
    assert task_counts(TaskOutcome.timed_out, [passed]).errors == 1


def test_junit_cases_get_the_cost_their_feed_line_reported_once() -> None:
    tests = FeedTests()
    tests.add(LiveTest(test="t::a", outcome="passed", cost=3.0))
    first = TestCase(id="t::a", name="a", status=CaseStatus.passed)
    teardown = TestCase(id="t::a #2", name="a", status=CaseStatus.error, repeat=2)
    other = TestCase(id="t::b", name="b", status=CaseStatus.passed)
    costed = tests.with_costs([first, teardown, other])
    assert [case.cost for case in costed] == [3.0, None, None]
    assert total_cost(costed) == 3.0
    assert total_cost([other]) is None


def test_polling_reads_the_feed_at_most_every_poll_interval(tmp_path: Path) -> None:
    feed = tmp_path / "live.jsonl"
    now = [0.0]
    seen: list[LiveTest] = []
    follower = FeedFollower(feed, seen.append, clock=lambda: now[0])
    feed.write_text('{"event": "collected", "count": 2}\n', encoding="utf-8")

    follower.poll()
    assert seen == []
    now[0] = 0.1
    follower.poll()
    assert [test.count for test in seen] == [2]
