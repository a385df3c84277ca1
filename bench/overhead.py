"""Overhead: 20 commands of `sleep 0.5` on 4 workers, qaagent against `xargs -P4` (and tox/nox)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from benchlib import floor_run, fresh, qaagent_run, ratio_line, wall_seconds, write_profile

TASKS, WORKERS, SLEEP, ROUNDS = 20, 4, "0.5", 3
TARGET = 1.10


def tox_ini() -> str:
    """A tox configuration with one environment per sleep."""
    envs = ",".join(f"s{index}" for index in range(TASKS))
    return (
        f"[tox]\nenv_list = {envs}\n\n[testenv]\nskip_install = true\n"
        f"allowlist_externals = sleep\ncommands = sleep {SLEEP}\n"
    )


def noxfile() -> str:
    """A nox file with one session per sleep."""
    return (
        "import nox\n\n"
        f"@nox.session(python=False)\n@nox.parametrize('index', range({TASKS}))\n"
        f"def sleep(session, index):\n    session.run('sleep', '{SLEEP}', external=True)\n"
    )


def others(root: Path) -> dict[str, list[str]]:
    """tox and nox commands for the same work, when they are installed."""
    commands: dict[str, list[str]] = {}
    if shutil.which("tox"):
        (root / "tox.ini").write_text(tox_ini(), encoding="utf-8")
        commands[f"tox p -p {WORKERS}"] = [
            "tox",
            "-c",
            str(root / "tox.ini"),
            "p",
            "-p",
            str(WORKERS),
        ]
    if shutil.which("nox"):
        (root / "noxfile.py").write_text(noxfile(), encoding="utf-8")
        commands[f"nox -j {WORKERS}"] = ["nox", "-f", str(root / "noxfile.py"), "-j", str(WORKERS)]
    return commands


def main() -> None:
    """Print qaagent's ratio to xargs -P4, and the floor's: medians of interleaved rounds."""
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-overhead")
    suites = {
        f"sleep{i:02d}": {"kind": "command", "command": ["sleep", SLEEP]} for i in range(TASKS)
    }
    profile = write_profile(root, suites, {"parallel": True, "max_workers": WORKERS})
    xargs = ["bash", "-c", f"seq {TASKS} | xargs -P{WORKERS} -I{{}} sleep {SLEEP}"]
    sleeps = [["sleep", SLEEP]] * TASKS
    qaagent_times, xargs_times, floor_times = [], [], []
    for _ in range(ROUNDS):
        xargs_times.append(wall_seconds(xargs))
        qaagent_times.append(qaagent_run(profile))
        floor_times.append(floor_run(sleeps, WORKERS))
    qaagent, reference = statistics.median(qaagent_times), statistics.median(xargs_times)
    floor = statistics.median(floor_times)
    print(ratio_line("overhead", qaagent, reference, f"xargs -P{WORKERS}", TARGET))
    print(
        f"overhead: floor (a Typer + pydantic CLI that only spawns) {floor:.2f} s "
        f"= {floor / reference:.2f}x xargs"
    )
    for label, argv in others(root).items():
        other = statistics.median(wall_seconds(argv, cwd=root) for _ in range(ROUNDS))
        print(f"overhead: {label} {other:.2f} s = {other / reference:.2f}x xargs")


if __name__ == "__main__":
    main()
