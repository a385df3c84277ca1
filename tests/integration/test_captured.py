"""run_captured with real commands: exit code and output, undecodable bytes, timeouts, no start, git."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from qaagent.evidence.writer import git_state
from qaagent.processes.captured import CommandTimedOut, run_captured


def test_the_exit_code_and_both_streams_come_back(tmp_path: Path) -> None:
    captured = run_captured(
        ["sh", "-c", "echo out; echo err >&2; pwd; exit 3"], cwd=tmp_path, timeout=30
    )

    assert captured.exit_code == 3
    assert captured.stdout.splitlines() == ["out", str(tmp_path)]
    assert captured.stderr == "err\n"


def test_the_given_environment_is_the_whole_environment() -> None:
    captured = run_captured(
        ["/bin/sh", "-c", "echo ${ONLY-}${HOME-}"], env={"ONLY": "1"}, timeout=30
    )

    assert captured.stdout == "1\n"


def test_output_that_is_not_utf8_is_read_with_replacement_characters() -> None:
    captured = run_captured(["printf", r"\377ok"], timeout=30)

    assert captured.stdout == "\ufffdok"


def test_a_command_past_its_timeout_is_killed_and_says_how_long_it_had(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    with pytest.raises(CommandTimedOut, match=r"^did not finish within 2 s$"):
        run_captured(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 60"], timeout=2)

    pid = int(pid_file.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_command_that_cannot_start_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        run_captured([str(tmp_path / "missing")], timeout=30)


def test_the_git_state_is_the_commit_and_whether_a_tracked_file_changed(tmp_path: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    (tmp_path / "tracked.txt").write_text("one\n", encoding="utf-8")
    for args in (["init", "-q"], ["add", "tracked.txt"], ["commit", "-q", "-m", "one"]):
        run_captured([*git, *args], cwd=tmp_path, timeout=30)
    head = run_captured(["git", "rev-parse", "HEAD"], cwd=tmp_path, timeout=30).stdout.strip()

    clean = git_state(tmp_path)
    (tmp_path / "tracked.txt").write_text("two\n", encoding="utf-8")

    assert clean == (head, False)
    assert git_state(tmp_path) == (head, True)
