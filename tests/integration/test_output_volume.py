"""A command that prints a great deal: every line logged, the tail right, the events sampled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qaagent_process import qaagent

LINES = 200_000
BURST, PER_SECOND = 10, 10
PROFILE = """\
tests: {unit: {enabled: false}, behave: {enabled: false}, e2e: {enabled: false}}
suites:
  chatty:
    kind: command
    command:
      - python
      - -c
      - "import sys; sys.stdout.writelines(f'line {i}\\\\n' for i in range(200000)); sys.exit(1)"
"""


def events_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_200k_short_lines_are_all_logged_with_the_tail_right_and_few_output_events(
    tmp_path: Path,
) -> None:
    (tmp_path / "qaagent.yaml").write_text(PROFILE, encoding="utf-8")

    completed = qaagent("run-all", "--events", "jsonl=events.jsonl", cwd=tmp_path)

    assert completed.returncode == 1, completed.stdout + completed.stderr
    stream = events_of(tmp_path / "events.jsonl")
    (finished,) = [event for event in stream if event["kind"] == "task-finished"]
    expected = [f"line {index}" for index in range(LINES)]
    log = tmp_path / ".qaagent" / "runs" / "latest" / finished["log"]
    header, *logged = log.read_text(encoding="utf-8").splitlines()
    assert header.startswith("=== qaagent attempt 1")
    assert logged == expected
    tail = finished["tail"]
    assert len(tail) >= 10 and tail == expected[-len(tail) :]
    output = [event["line"] for event in stream if event["kind"] == "task-output"]
    assert output[-1] == expected[-1]
    assert set(output) <= set(expected)
    assert len(output) <= BURST + PER_SECOND * finished["duration"] + 2
