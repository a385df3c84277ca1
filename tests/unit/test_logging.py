"""Log lines go to stderr, as JSON lines or key=value text, filtered by -v/-q."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from qaagent.logging import configure_logging, get_logger


@pytest.fixture(autouse=True)
def fresh_structlog() -> Iterator[None]:
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def emit_one_of_each() -> None:
    log = get_logger("qaagent.example")
    log.debug("debug line")
    log.info("info line")
    log.warning("warning line", suite="unit", attempt=2)
    log.error("error line")


def test_json_lines_on_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(0, json_lines=True)
    emit_one_of_each()
    captured = capsys.readouterr()
    assert captured.out == ""
    records = [json.loads(line) for line in captured.err.splitlines()]
    assert [record["event"] for record in records] == ["warning line", "error line"]
    warning = records[0]
    assert warning["level"] == "warning"
    assert warning["suite"] == "unit"
    assert warning["attempt"] == 2
    assert warning["module"] == "qaagent.example"
    assert warning["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("verbosity", "events"),
    [
        (-2, ["error line"]),
        (-1, ["error line"]),
        (0, ["warning line", "error line"]),
        (1, ["info line", "warning line", "error line"]),
        (2, ["debug line", "info line", "warning line", "error line"]),
        (5, ["debug line", "info line", "warning line", "error line"]),
    ],
)
def test_verbosity_sets_the_level(
    capsys: pytest.CaptureFixture[str], verbosity: int, events: list[str]
) -> None:
    configure_logging(verbosity, json_lines=True)
    emit_one_of_each()
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["event"] for line in lines] == events


def test_text_format_is_key_value(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(0)
    emit_one_of_each()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "warning line" in lines[0]
    assert "suite=unit" in lines[0]
    assert "attempt=2" in lines[0]
    assert not lines[0].lstrip().startswith("{")


@pytest.mark.parametrize(
    ("environ", "coloured"),
    [({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False), ({}, False)],
)
def test_text_logs_follow_no_color_and_force_color(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    coloured: bool,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    configure_logging(0)
    emit_one_of_each()
    assert ("\x1b[" in capsys.readouterr().err) is coloured
