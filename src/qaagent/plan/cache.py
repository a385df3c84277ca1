"""A task's cache key: sha256 over its input files, its command, environment, Python and tool.

The files are the suite's `inputs:` globs, else what git tracks or would track under the
profile's folder, else (outside git) every file under the suite's folder but caches and
environments. Secret values are left out of the key; only their names go in. Each interpreter
is asked its version and its tools' once per run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qaagent.model.task import Task
from qaagent.processes.captured import CommandTimedOut, run_captured
from qaagent.secrets import is_secret_name
from qaagent.tools.python_tools import python_of

SKIPPED_FOLDERS = frozenset(
    {".git", ".qaagent", "node_modules", ".venv", "venv", "__pycache__", ".pytest_cache"}
)
DISTRIBUTIONS = {"pytest": "pytest", "behave": "behave", "playwright-python": "playwright"}
PROBE_TIMEOUT = 30.0
GIT_TIMEOUT = 30.0
VERSION_PROBE = (
    "import sys, importlib.metadata as m\n"
    "print(sys.version.split()[0])\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        print(name, m.version(name))\n"
    "    except m.PackageNotFoundError:\n"
    "        print(name, 'missing')\n"
)
NODE_PLAYWRIGHT = Path("node_modules", "@playwright", "test", "package.json")


@dataclass(frozen=True)
class CacheKey:
    """The digest a task is stored under, and a readable account of each part of it."""

    digest: str
    inputs: dict[str, str]


@dataclass
class KeyMaker:
    """Keys of one run's tasks: each interpreter probed once, each file listing made once."""

    env: Mapping[str, str] = field(default_factory=dict)
    secret_names: Collection[str] = ()
    _versions: dict[str, dict[str, str]] = field(default_factory=dict)
    _files: dict[tuple[Path | None, tuple[str, ...], Path], tuple[int, str]] = field(
        default_factory=dict
    )

    def key(self, task: Task) -> CacheKey:
        """The task's key from every part that, changed, must make it run again."""
        count, files = self.files(task)
        parts = {
            "files": files,
            "command": command_text(task),
            "env": env_digest({**self.env, **task.env}, self.secret_names),
            "tools": self.tools(task),
        }
        digest = sha256_text(json.dumps(parts, sort_keys=True))
        inputs = {
            **parts,
            "files": f"{count} files, sha256 {files}",
            "env": f"sha256 {parts['env']} of {env_names(task, self.env, self.secret_names)}",
        }
        return CacheKey(digest, inputs)

    def files(self, task: Task) -> tuple[int, str]:
        """How many input files the task has and their digest; the tasks of a suite share it."""
        where = (task.root, task.inputs, task.cwd)
        if where not in self._files:
            found = input_files(task)
            self._files[where] = (len(found), files_digest(found))
        return self._files[where]

    def tools(self, task: Task) -> str:
        """The interpreter with its version and the tool's, or the node Playwright's."""
        if task.kind == "playwright-node":
            return f"@playwright/test {node_playwright_version(task.cwd)}"
        if task.command or task.kind not in DISTRIBUTIONS:
            return "-"
        python = str(python_of(task))
        if python not in self._versions:
            self._versions[python] = python_versions(python, task.env)
        versions = self._versions[python]
        tool = DISTRIBUTIONS[task.kind]
        return f"{python} {versions.get('python', 'unavailable')} {tool} {versions.get(tool, '-')}"


def input_files(task: Task) -> dict[str, Path]:
    """The files the task depends on, by their name relative to the profile's folder."""
    root = task.root or task.cwd
    found: Iterable[Path]
    if task.inputs:
        found = (path for pattern in task.inputs for path in root.glob(pattern))
    else:
        listed = git_files(root)
        found = (root / name for name in listed) if listed is not None else walk(task.cwd)
    return {
        name_in(root, path): path for path in found if path.is_file() and not skipped(root, path)
    }


def name_in(root: Path, path: Path) -> str:
    """`path` relative to the profile's folder when below it, else as it is."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def skipped(root: Path, path: Path) -> bool:
    """Caches, environments and qaagent's own runs never make a key."""
    relative = path.relative_to(root) if path.is_relative_to(root) else path
    return any(part in SKIPPED_FOLDERS for part in relative.parts[:-1])


def git_files(root: Path) -> list[str] | None:
    """Files git tracks under `root`, and those it would (untracked, not ignored); None outside git."""
    names: list[str] = []
    for extra in ((), ("--others", "--exclude-standard")):
        try:
            listed = run_captured(["git", "ls-files", "-z", *extra], cwd=root, timeout=GIT_TIMEOUT)
        except (OSError, CommandTimedOut):
            return None
        if listed.exit_code != 0:
            return None
        names.extend(name for name in listed.stdout.split("\0") if name)
    return names


def walk(folder: Path) -> Iterable[Path]:
    """Every file under `folder`, not descending into caches and environments."""
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS)
        yield from (Path(current, name) for name in files)


def files_digest(files: Mapping[str, Path]) -> str:
    """sha256 over each file's name and content, in name order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with files[name].open("rb") as content:
                digest.update(hashlib.file_digest(content, "sha256").hexdigest().encode())
        except OSError:
            digest.update(b"unreadable")
        digest.update(b"\0")
    return digest.hexdigest()


def command_text(task: Task) -> str:
    """What the task runs: the tool or command, the path, arguments and selection, and where."""
    words = [
        task.kind,
        *(task.command or ()),
        *([str(task.path)] if task.path else []),
        *task.args,
        *task.cli_args,
        *(f"--select={test}" for test in task.selected_tests),
        *(f"--exclude={test}" for test in task.excluded_tests),
    ]
    return f"{shlex.join(words)} (in {task.cwd})"


def env_digest(env: Mapping[str, str], secret_names: Collection[str]) -> str:
    """sha256 over the variables in name order; a secret's value is left out, its name kept."""
    shown = {name: None if secret(name, secret_names) else value for name, value in env.items()}
    return sha256_text(json.dumps(shown, sort_keys=True))


def env_names(task: Task, env: Mapping[str, str], secret_names: Collection[str]) -> str:
    """The variables the key read, a secret's marked as its value left out."""
    names = sorted({*env, *task.env})
    shown = [f"{name} (secret)" if secret(name, secret_names) else name for name in names]
    return ", ".join(shown) or "no variables"


def secret(name: str, secret_names: Collection[str]) -> bool:
    """A secret-looking name, or one the profile lists under `secrets`."""
    return is_secret_name(name) or name in secret_names


def python_versions(python: str, env: Mapping[str, str]) -> dict[str, str]:
    """The interpreter's version (`python`) and each tool's; empty when it cannot answer."""
    try:
        answer = run_captured(
            [python, "-c", VERSION_PROBE, *sorted(set(DISTRIBUTIONS.values()))],
            env={**os.environ, **env},
            timeout=PROBE_TIMEOUT,
        )
    except (OSError, CommandTimedOut):
        return {}
    if answer.exit_code != 0:
        return {}
    first, *tools = answer.stdout.splitlines() or [""]
    return {"python": first.strip(), **dict(line.split(" ", 1) for line in tools if " " in line)}


def node_playwright_version(cwd: Path) -> str:
    """The version of `@playwright/test` installed in the suite's folder."""
    try:
        return str(json.loads((cwd / NODE_PLAYWRIGHT).read_bytes()).get("version", "unknown"))
    except (OSError, ValueError, AttributeError):
        return "not installed"


def sha256_text(text: str) -> str:
    """Hex sha256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
