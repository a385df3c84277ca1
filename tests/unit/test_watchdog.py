"""What the watchdog still has to end when qaagent's pipe closes."""

from __future__ import annotations

import signal

import pytest

from qaagent.processes import watchdog
from qaagent.processes.watchdog import read_registrations, signal_all


def test_released_commands_are_forgotten_and_the_rest_kept() -> None:
    lines = [b"+ 101 aaa\n", b"+ 202 bbb\n", b"- 101 aaa\n", b"+ 303 ccc\n"]
    assert read_registrations(lines) == {"bbb": 202, "ccc": 303}


def test_a_line_cut_off_by_a_dying_writer_is_ignored() -> None:
    lines = [b"+ 101 aaa\n", b"+ 20"]
    assert read_registrations(lines) == {"aaa": 101}


def test_nothing_registered_means_nothing_to_end() -> None:
    assert read_registrations([]) == {}
    assert read_registrations([b"+ 1 x\n", b"- 1 x\n"]) == {}


def test_a_tagged_process_in_a_signalled_group_gets_the_signal_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, int]] = []
    groups = {500: 500, 501: 500, 702: 702}
    monkeypatch.setattr(watchdog, "tagged_pids", lambda tokens, exclude: [500, 501, 702])
    monkeypatch.setattr(watchdog.os, "getpgid", groups.__getitem__)
    monkeypatch.setattr(watchdog.os, "killpg", lambda group, signum: sent.append(("group", group)))
    monkeypatch.setattr(watchdog.os, "kill", lambda pid, signum: sent.append(("pid", pid)))

    signal_all({"token": 500}, signal.SIGTERM)

    assert sent == [("group", 500), ("pid", 702)]
