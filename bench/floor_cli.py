"""The floor of any command-line tool on qaagent's stack: a Typer command that imports pydantic and
then runs commands, a few at a time, with nothing else around them.

The benchmarks time it beside qaagent, so that each line shows how much of qaagent's time is the
price of Python, Typer and pydantic themselves rather than of the orchestration.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Annotated

import typer


def main(
    commands: Annotated[
        list[str], typer.Argument(help="Shell-quoted commands, run in this order.")
    ],
    workers: Annotated[int, typer.Option(min=1, help="Commands at once.")] = 4,
) -> None:
    """Run the commands in the order given, `workers` at once."""
    from pydantic import BaseModel  # noqa: F401  # what validating a profile would import

    running: list[subprocess.Popen[bytes]] = []
    for command in commands:
        while len(running) == workers:
            running = wait_for_one(running)
        running.append(subprocess.Popen(shlex.split(command)))
    for process in running:
        process.wait()


def wait_for_one(running: list[subprocess.Popen[bytes]]) -> list[subprocess.Popen[bytes]]:
    """Block until some process ends; the ones still running."""
    pid, status = os.wait()
    for process in running:
        if process.pid == pid:
            process.returncode = os.waitstatus_to_exitcode(status)
    return [process for process in running if process.pid != pid]


if __name__ == "__main__":
    typer.run(main)
