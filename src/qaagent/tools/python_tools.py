"""pytest and behave run as `<the suite's python> -m <tool>`; a tool missing there is said plainly.

Before the first attempt, the interpreter is asked once per run whether it can import the tool,
so a missing interpreter or package is one clear error (with the command that installs it)
instead of a failed run that reads like a usage error.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from qaagent.model.task import Task
from qaagent.processes.captured import CommandTimedOut, run_captured
from qaagent.tools.base import ToolUnavailable

PACKAGES = {"pytest": "pytest", "behave": "behave", "pytest_playwright": "pytest-playwright"}
PROBE = (
    "import importlib.util, sys; "
    "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
)
PROBE_TIMEOUT = 60.0
ANOTHER_INTERPRETER = "or name another interpreter with `python:` in the profile"

_problems: dict[tuple[str, str, tuple[str, ...], str], str | None] = {}
_problems_lock = threading.Lock()


def python_of(task: Task) -> Path:
    """The suite's interpreter; a task built without a profile runs with qaagent's own."""
    return task.python.path if task.python is not None else Path(sys.executable)


def module_command(task: Task, module: str) -> tuple[str, ...]:
    """The suite's own command, else `<its python> -m <module>`."""
    return task.command if task.command else (str(python_of(task)), "-m", module)


def python_path_with(folder: Path, env: Mapping[str, str]) -> str:
    """The PYTHONPATH of `env` with `folder` first, so the suite's python imports a plugin there."""
    return os.pathsep.join(part for part in (str(folder), env.get("PYTHONPATH", "")) if part)


def require_modules(task: Task, modules: tuple[str, ...], env: Mapping[str, str]) -> None:
    """Raise ToolUnavailable when the suite's interpreter cannot run or lacks a module.

    A suite with its own command is left to it. The answer is kept for the rest of the run.
    """
    if task.command:
        return
    python = str(python_of(task))
    where = task.python.describe() if task.python is not None else python
    key = (python, where, modules, env.get("PYTHONPATH", ""))
    with _problems_lock:
        if key not in _problems:
            _problems[key] = interpreter_problem(python, where, modules, env)
        problem = _problems[key]
    if problem is not None:
        raise ToolUnavailable(problem, [python, "-m", modules[0]])


def interpreter_problem(
    python: str, where: str, modules: tuple[str, ...], env: Mapping[str, str]
) -> str | None:
    """Why `python` cannot run the modules, naming it and the command that installs them.

    qaagent's own interpreter, which already finds them, is not asked again in a process.
    """
    if is_this_interpreter(python) and all(find_spec(module) for module in modules):
        return None
    try:
        completed = run_captured([python, "-c", PROBE, *modules], env=env, timeout=PROBE_TIMEOUT)
    except OSError as error:
        return _unusable(where, f"cannot be run ({error.strerror or error})")
    except CommandTimedOut:
        return _unusable(where, f"did not answer within {PROBE_TIMEOUT:g} s")
    if completed.exit_code != 0:
        last = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return _unusable(where, f"exited with {completed.exit_code} on start ({last[0]})")
    missing = completed.stdout.split()
    if not missing:
        return None
    packages = [PACKAGES.get(module, module) for module in missing]
    verb = "is" if len(packages) == 1 else "are"
    return (
        f"{' and '.join(packages)} {verb} not installed for the Python interpreter {where}; "
        f"install with `{shlex.join([python, '-m', 'pip', 'install', *packages])}`, "
        f"{ANOTHER_INTERPRETER}"
    )


def is_this_interpreter(python: str) -> bool:
    """Whether `python` is qaagent's own: the same folder of the same environment.

    Links are not followed, since every virtual environment links to one base interpreter.
    """
    own = Path(sys.executable).absolute()
    other = Path(python).absolute()
    return other.parent == own.parent and other.name.startswith("python")


def find_spec(module: str) -> bool:
    """Whether this interpreter can import the module, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _unusable(where: str, reason: str) -> str:
    return (
        f"the Python interpreter {where} {reason}; create that environment, {ANOTHER_INTERPRETER}"
    )
