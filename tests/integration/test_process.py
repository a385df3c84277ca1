"""run_process with real commands: exit codes, output, timeouts, stop, and no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from qaagent.processes.run import ProcessResult, run_process
from qaagent.processes.watchdog import ProcessGuard

PY = sys.executable
GUARD = ProcessGuard()


def alive(pid: int) -> bool:
    """Running, not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pid: int, seconds: float = 15.0) -> bool:
    """Whether the process is gone within a generous limit (a bound, not a timing assertion)."""
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def run(
    argv: list[str],
    tmp_path: Path,
    *,
    timeout: float | None = 60,
    stop: threading.Event | None = None,
    on_line: object = None,
    grace: float = 2.0,
) -> ProcessResult:
    return run_process(
        argv,
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=tmp_path / "out.log",
        timeout=timeout,
        stop=stop or threading.Event(),
        guard=GUARD,
        grace=grace,
        on_line=on_line,  # type: ignore[arg-type]
    )


def test_exit_code_output_and_tail(tmp_path: Path) -> None:
    script = "import sys\nfor i in range(120): print('line', i)\nsys.exit(3)"
    result = run([PY, "-c", script], tmp_path)

    assert result.exit_code == 3
    assert not result.timed_out and not result.cancelled and result.error is None
    assert len(result.tail) == 50
    assert result.tail[-1] == "line 119"
    assert (tmp_path / "out.log").read_text().count("\n") == 120


def test_stdout_and_stderr_are_merged_and_undecodable_bytes_are_kept(tmp_path: Path) -> None:
    script = (
        "import sys; sys.stdout.buffer.write(b'out \\xff\\xfe end\\n'); sys.stdout.flush(); "
        "sys.stderr.write('err line\\n')"
    )
    lines: list[str] = []
    result = run([PY, "-c", script], tmp_path, on_line=lines.append)

    assert result.exit_code == 0
    assert result.tail == ["out \ufffd\ufffd end", "err line"]
    assert lines == result.tail
    assert (tmp_path / "out.log").read_bytes() == b"out \xff\xfe end\nerr line\n"


def test_missing_executable_is_an_error_result(tmp_path: Path) -> None:
    result = run(["qaagent-no-such-tool", "--version"], tmp_path)

    assert result.exit_code is None
    assert result.error == "command not found: qaagent-no-such-tool"
    assert "command not found" in (tmp_path / "out.log").read_text()


def test_missing_working_folder_is_an_error_result(tmp_path: Path) -> None:
    result = run_process(
        ["true"],
        cwd=tmp_path / "nowhere",
        env=dict(os.environ),
        log_path=tmp_path / "out.log",
        timeout=10,
        stop=threading.Event(),
        guard=GUARD,
    )

    assert result.error is not None and "working folder does not exist" in result.error


def test_timeout_kills_the_tree_including_a_grandchild_in_its_own_session(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = textwrap.dedent(
        f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "600"], start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    result = run([PY, "-c", script], tmp_path, timeout=3, grace=1)

    assert result.timed_out
    assert result.exit_code is not None and result.exit_code < 0
    assert "ready" in result.tail
    assert not alive(int(pid_file.read_text()))
    assert "timed out" in (tmp_path / "out.log").read_text()


def test_term_ignoring_command_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(600)"
    )
    result = run([PY, "-c", script], tmp_path, timeout=2, grace=0.5)

    assert result.timed_out
    assert result.exit_code == -signal.SIGKILL


def test_daemon_left_by_a_finished_command_is_ended(tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon.pid"
    result = run(["sh", "-c", f"setsid sleep 600 >/dev/null 2>&1 & echo $! > {pid_file}"], tmp_path)

    assert result.exit_code == 0
    assert not alive(int(pid_file.read_text()))


def test_stop_event_ends_the_command_and_its_children(tmp_path: Path) -> None:
    stop = threading.Event()
    pids: list[int] = []

    def on_line(line: str) -> None:
        if line.startswith("pids"):
            pids.extend(int(pid) for pid in line.split()[1:])
            stop.set()

    script = textwrap.dedent(
        """
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "600"])
        print("pids", os.getpid(), child.pid, flush=True)
        time.sleep(600)
        """
    )
    result = run([PY, "-c", script], tmp_path, stop=stop, on_line=on_line, grace=1)

    assert result.cancelled and not result.timed_out
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)


def test_a_failing_output_callback_still_ends_the_command(tmp_path: Path) -> None:
    pids: list[int] = []

    def on_line(line: str) -> None:
        pids.append(int(line))
        raise RuntimeError("console broke")

    script = "import os, time; print(os.getpid(), flush=True); time.sleep(600)"
    with pytest.raises(RuntimeError, match="console broke"):
        run([PY, "-c", script], tmp_path, on_line=on_line, grace=1)

    assert len(pids) == 1
    assert not alive(pids[0])


def test_huge_output_keeps_memory_bounded(tmp_path: Path) -> None:
    """200 MB of random bytes, and 200 MB without a newline, through the whole runner.

    The runner runs in a child process whose peak memory is read with getrusage; the output
    is also scanned for a retry pattern, which reads the whole log back.
    """
    probe = textwrap.dedent(
        f"""
        import json, resource, shutil
        from pathlib import Path
        from qaagent.model.task import Task
        from qaagent.tools.base import RunContext
        from qaagent.tools.registry import runner_for
        root = Path({str(tmp_path)!r})
        results = []
        for name, command in [
            ("random", "head -c 200000000 /dev/urandom; exit 1"),
            ("one-line", "head -c 200000000 /dev/zero; exit 1"),
        ]:
            task = Task(name=name, suite=name, kind="command", path=None, cwd=root,
                        command=("sh", "-c", command), args=(), env={{}}, matrix={{}},
                        pool=None, timeout=600, retry_count=0, priority=0,
                        retry_on=("HTTP 429",))
            result = runner_for("command").run(task, RunContext(output_dir=root / name))
            results.append([result.outcome.value, result.log_path.stat().st_size,
                            max(len(line) for line in result.tail)])
            shutil.rmtree(root / name)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({{"results": results, "peak_mb": peak_mb}}))
        """
    )
    completed = subprocess.run(
        [PY, "-c", probe], capture_output=True, text=True, check=True, timeout=600
    )
    report = json.loads(completed.stdout)

    for outcome, log_size, longest_tail_line in report["results"]:
        assert outcome == "failed"
        assert log_size > 200_000_000
        assert longest_tail_line <= 8192
    assert report["peak_mb"] < 150


def test_a_killed_parent_leaves_neither_the_command_nor_its_children(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import os, threading
        from pathlib import Path
        from qaagent.processes.run import run_process
        from qaagent.processes.watchdog import ProcessGuard
        script = "trap '' TERM; sleep 600 & echo $$ $!; wait"
        run_process(["sh", "-c", script], cwd=Path({str(tmp_path)!r}),
                    env=dict(os.environ), log_path=Path({str(tmp_path)!r}) / "out.log",
                    timeout=600, stop=threading.Event(), guard=ProcessGuard(),
                    on_line=lambda line: print(line, flush=True))
        """
    )
    parent = subprocess.Popen([PY, "-c", probe], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    command_pid, child_pid = (int(pid) for pid in parent.stdout.readline().split())
    assert alive(command_pid) and alive(child_pid)

    parent.kill()
    parent.wait()

    assert wait_gone(command_pid, seconds=30)
    assert wait_gone(child_pid, seconds=30)


def test_stopping_one_of_two_parallel_commands_leaves_the_other_running(tmp_path: Path) -> None:
    stops = {name: threading.Event() for name in ("a", "b")}
    started = {name: threading.Event() for name in ("a", "b")}
    pids: dict[str, int] = {}
    results: dict[str, ProcessResult] = {}
    script = "import os, time; print('pid', os.getpid(), flush=True); time.sleep(600)"

    def start(name: str) -> None:
        def on_line(line: str) -> None:
            pids[name] = int(line.split()[1])
            started[name].set()

        results[name] = run_process(
            [PY, "-c", script],
            cwd=tmp_path,
            env=dict(os.environ),
            log_path=tmp_path / f"{name}.log",
            timeout=120,
            stop=stops[name],
            guard=GUARD,
            grace=1,
            on_line=on_line,
        )

    threads = [threading.Thread(target=start, args=(name,)) for name in stops]
    for thread in threads:
        thread.start()
    assert all(event.wait(60) for event in started.values())

    stops["a"].set()
    threads[0].join(60)
    b_survived = alive(pids["b"])
    stops["b"].set()
    threads[1].join(60)

    assert results["a"].cancelled and not alive(pids["a"])
    assert b_survived
    assert results["b"].cancelled and not alive(pids["b"])
