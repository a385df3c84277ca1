"""`qaagent run-all` when things go wrong around the tests: kills, stray daemons, stale apps."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from qaagent_process import environment
from test_run_all import (
    FIXTURE,
    checked_manifest,
    free_port,
    processes_left,
    project,
    run_all,
    run_dirs,
    start_run_all,
    wait_for_lines,
    wait_for_processes,
)

from qaagent.model.run import RunStatus

__all__ = ["project"]

WAIT_SECONDS = 30


def write_profile(project: Path, name: str, suites: str) -> str:
    """A profile with the unit tests off and the given suites block; returns its file name."""
    (project / name).write_text(f"tests: {{unit: {{enabled: false}}}}\nsuites:\n{suites}", "utf-8")
    return name


def wait_for_text(path_pattern: str, root: Path, needle: str) -> str:
    """The text of the first file under `root` matching the pattern once it holds `needle`."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        for path in root.glob(path_pattern):
            text = path.read_text(encoding="utf-8", errors="replace")
            if needle in text:
                return text
        assert time.monotonic() < deadline, f"{needle!r} never appeared in {path_pattern}"
        time.sleep(0.1)


def test_output_reaches_the_log_while_the_task_runs_and_survives_a_killed_qaagent(
    project: Path,
) -> None:
    script = "for i in range(1, 21): print(f'line {i}', flush=True)\nimport time; time.sleep(600)"
    profile = write_profile(
        project,
        "chatty.yaml",
        f"  chatty: {{kind: command, command: [python, -c, {script!r}], timeout: 600}}\n",
    )
    process = start_run_all(project, "--config", profile)
    log_glob = ".qaagent/runs/*/artifacts/chatty/output.log"
    seen = wait_for_text(log_glob, project, "line 20")
    assert [f"line {i}" for i in range(1, 21)] == [
        line for line in seen.splitlines() if line.startswith("line ")
    ]

    process.kill()
    process.communicate(timeout=60)

    (run_dir,) = run_dirs(project)
    kept = (run_dir / "artifacts" / "chatty" / "output.log").read_text(encoding="utf-8")
    assert "line 20" in kept
    assert processes_left(project) == []


def catastrophic_profile(project: Path) -> str:
    """A failing task whose output makes `(a+)+b` backtrack for hours, with a retry on it."""
    script = "print('a' * 36, flush=True); raise SystemExit(1)"
    return write_profile(
        project,
        "backtrack.yaml",
        f"  backtrack:\n    kind: command\n    command: [python, -c, {script!r}]\n"
        "    timeout: 60\n    retry_count: 1\n    retry_on: ['(a+)+b']\n",
    )


def test_a_catastrophic_retry_pattern_counts_as_no_match_instead_of_hanging(
    project: Path,
) -> None:
    completed = run_all(project, "--config", catastrophic_profile(project))
    assert completed.returncode == 1, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    manifest = checked_manifest(run_dir)
    (task,) = manifest.tasks
    assert len(task.attempts) == 2
    log = (run_dir / "artifacts" / "backtrack" / "output.log").read_text(encoding="utf-8")
    assert log.count("retry_on patterns took longer than 5 s") == len(task.attempts)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_catastrophic_match_still_stops_the_run(
    project: Path, signum: signal.Signals
) -> None:
    process = start_run_all(project, "--config", catastrophic_profile(project))
    wait_for_child(process.pid, "qaagent.processes.matching")
    process.send_signal(signum)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    (run_dir,) = run_dirs(project)
    assert checked_manifest(run_dir).status is RunStatus.interrupted


def wait_for_child(pid: int, needle: str) -> None:
    """Wait until a child of `pid` runs with `needle` in its command line."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not any(needle in line for line in child_command_lines(pid)):
        assert time.monotonic() < deadline, f"no child of {pid} ever ran {needle!r}"
        time.sleep(0.05)


def child_command_lines(pid: int) -> list[str]:
    lines = []
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children():
            with contextlib.suppress(psutil.Error):
                lines.append(" ".join(child.cmdline()))
    return lines


def test_a_daemon_that_clears_its_environment_and_leaves_the_session_is_ended(
    project: Path,
) -> None:
    profile = write_profile(
        project,
        "daemon.yaml",
        "  daemon: {kind: command, command: [sh, -c, 'env -i setsid sleep 301 & exit 0']}\n",
    )
    completed = run_all(project, "--config", profile)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert not [p for p in processes_left(project, seconds=10) if "301" in p.cmdline()]


def test_killing_qaagent_outright_ends_a_daemon_that_cleared_its_environment_and_left_the_session(
    project: Path,
) -> None:
    script = "env -i setsid sleep 305 & sleep 1; echo ready $((6 * 7)); exec sleep 600"
    profile = write_profile(
        project, "daemon.yaml", f"  daemon: {{kind: command, command: [sh, -c, {script!r}]}}\n"
    )
    process = start_run_all(project, "--config", profile)
    wait_for_text(".qaagent/runs/*/artifacts/daemon/output.log", project, "ready 42")

    process.kill()
    process.communicate(timeout=60)

    assert processes_left(project) == []


def app_profile(
    project: Path, port: int, settings: str = "", *suites: str, startup_timeout: int = 20
) -> str:
    """A profile whose local app is tools/app.py on `port`, and command suites that need it."""
    start = settings or "start_command: [python, tools/app.py]"
    blocks = "".join(
        f"  {name}: {{kind: command, command: {command}, needs_app: true}}\n"
        for name, command in (
            suite.split("=", 1) for suite in suites or ("smoke=[python, tools/probe.py]",)
        )
    )
    (project / "apps.yaml").write_text(
        "tests: {unit: {enabled: false}}\n"
        "app:\n"
        "  local:\n"
        f"    base_url: http://127.0.0.1:{port}\n"
        f"    {start}\n"
        "    health_endpoint: /health\n"
        f"    startup_timeout: {startup_timeout}\n"
        f"suites:\n{blocks}",
        encoding="utf-8",
    )
    return "apps.yaml"


@pytest.fixture
def stale_server(tmp_path: Path) -> Iterator[int]:
    """The fixture app already serving /health on a port, started outside qaagent."""
    port = free_port()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server = subprocess.Popen(
        [sys.executable, str(FIXTURE / "tools" / "app.py")],
        cwd=elsewhere,
        env={**environment(), "BASE_URL": f"http://127.0.0.1:{port}"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert "listening" in server.stdout.readline()
    yield port
    server.kill()
    server.communicate(timeout=30)


def test_a_stale_server_on_the_app_port_is_an_infrastructure_error(
    project: Path, stale_server: int
) -> None:
    completed = run_all(project, "--config", app_profile(project, stale_server))
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    (smoke,) = checked_manifest(run_dir).tasks
    assert smoke.outcome == "error"
    assert f"something already answers on port {stale_server}" in (smoke.error or "")
    assert "reuse_existing: true" in (smoke.error or "")
    assert not (project / "app.pid").exists()


def test_reuse_existing_tests_against_the_server_already_running(
    project: Path, stale_server: int
) -> None:
    profile = app_profile(
        project,
        stale_server,
        "start_command: [python, tools/app.py]\n    reuse_existing: true",
    )
    completed = run_all(project, "--config", profile)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert not (project / "app.pid").exists()


def test_an_app_that_dies_while_suites_need_it_errors_them_with_its_exit_code(
    project: Path,
) -> None:
    killer = (
        "import os, socket, time, urllib.request\n"
        "base = os.environ['BASE_URL']\n"
        "urllib.request.urlopen(base + '/exit/7', timeout=5).read()\n"
        "port = int(base.rsplit(':', 1)[1])\n"
        "for _ in range(100):\n"
        "    try: socket.create_connection(('127.0.0.1', port), timeout=1).close()\n"
        "    except OSError: break\n"
        "    time.sleep(0.1)\n"
        "time.sleep(0.5)\n"
    )
    profile = app_profile(
        project,
        free_port(),
        "",
        f"killer=[python, -c, {killer!r}]",
        "after=[python, tools/probe.py]",
    )
    completed = run_all(project, "--config", profile, "--no-parallel")
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    tasks = {task.name: task for task in checked_manifest(run_dir).tasks}
    for name in ("killer", "after"):
        assert tasks[name].outcome == "error", name
        assert "app 'local' exited with code 7 while suites still needed it" in (
            tasks[name].error or ""
        )
        assert "listening on" in (tasks[name].error or "")
    assert [attempt.exit_code for attempt in tasks["killer"].attempts] == [0]
    assert tasks["killer"].log is not None
    assert (run_dir / tasks["killer"].log).is_file()


def with_helpers(app: str, deaf_to_term: bool = False) -> str:
    """A start command that leaves helpers escaping the app every way it can, then runs `app`.

    One leaves the process group, one also clears its environment, and one is also a daemon:
    started through a parent that exits at once, with no terminal, no open output and no
    hangup, so only adoption by qaagent still ties it to the app. Deaf to SIGTERM, the app and
    its helpers outlast any graceful stop.
    """
    ignore_term = 'trap "" TERM; ' if deaf_to_term else ""
    return (
        f"start_command: [sh, -c, '{ignore_term}setsid sleep 302 & env -i setsid sleep 303 & "
        "(nohup env -i setsid sleep 304 </dev/null >/dev/null 2>&1 &); "
        f"exec {app}']"
    )


HELPERS = ["sleep 302", "sleep 303", "sleep 304"]


def test_helpers_an_app_starts_in_sessions_of_their_own_end_with_it(project: Path) -> None:
    profile = app_profile(project, free_port(), with_helpers("python tools/app.py"))
    completed = run_all(project, "--config", profile)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert processes_left(project, seconds=10) == []


def start_with_helpers(project: Path, deaf_to_term: bool = False) -> subprocess.Popen[str]:
    """A run whose app has started its helpers and whose task that needs it is running."""
    profile = app_profile(
        project,
        free_port(),
        with_helpers("python tools/app.py", deaf_to_term),
        "waiting=[python, tools/step.py, --sleep, '600', --name, waiting]",
    )
    process = start_run_all(project, "--config", profile)
    wait_for_lines(process, ["start  waiting"])
    wait_for_processes(project, [*HELPERS, "--name waiting"])
    return process


def test_ctrl_c_ends_the_app_and_its_helpers(project: Path) -> None:
    process = start_with_helpers(project)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert processes_left(project, seconds=10) == []


def test_a_second_ctrl_c_ends_the_app_and_its_helpers_while_they_ignore_the_first(
    project: Path,
) -> None:
    process = start_with_helpers(project, deaf_to_term=True)
    process.send_signal(signal.SIGINT)
    wait_for_lines(process, ["interrupt again to kill them at once"])
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert processes_left(project, seconds=10) == []
    (run_dir,) = run_dirs(project)
    (waiting,) = checked_manifest(run_dir).tasks
    assert waiting.outcome == "interrupted", waiting.error


def test_an_app_that_never_answers_is_ended_with_its_helpers_at_its_start_timeout(
    project: Path,
) -> None:
    profile = app_profile(project, free_port(), with_helpers("sleep 600"), startup_timeout=2)
    completed = run_all(project, "--config", profile)
    assert completed.returncode == 3, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    (smoke,) = checked_manifest(run_dir).tasks
    assert "did not answer with success within 2s" in (smoke.error or "")
    assert processes_left(project, seconds=10) == []


def test_killing_qaagent_outright_ends_the_app_and_its_helpers(project: Path) -> None:
    process = start_with_helpers(project)

    process.kill()
    process.communicate(timeout=60)

    assert processes_left(project) == []
