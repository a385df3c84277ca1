"""What the watchdog still has to end when qaagent's pipe closes."""

from __future__ import annotations

from qaagent.processes.watchdog import read_registrations


def test_released_commands_are_forgotten_and_the_rest_kept() -> None:
    lines = [b"+ 101 aaa\n", b"+ 202 bbb\n", b"- 101 aaa\n", b"+ 303 ccc\n"]
    assert read_registrations(lines) == {"bbb": 202, "ccc": 303}


def test_a_line_cut_off_by_a_dying_writer_is_ignored() -> None:
    lines = [b"+ 101 aaa\n", b"+ 20"]
    assert read_registrations(lines) == {"aaa": 101}


def test_nothing_registered_means_nothing_to_end() -> None:
    assert read_registrations([]) == {}
    assert read_registrations([b"+ 1 x\n", b"- 1 x\n"]) == {}
