"""A task: one suite, or one matrix combination of it, as every stage after planning sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SuiteKind = Literal["pytest", "behave", "playwright-python", "playwright-node", "command"]


class Interpreter(BaseModel):
    """A Python interpreter and why it was chosen, as shown to the user."""

    model_config = ConfigDict(frozen=True)

    path: Path
    origin: str

    def describe(self) -> str:
        """`/repo/.venv/bin/python (.venv next to the profile)`."""
        return f"{self.path} ({self.origin})"


class ForkParts(BaseModel):
    """The parts of a split pytest suite run by one pytest that forks a child per part."""

    model_config = ConfigDict(frozen=True)

    labels: tuple[str, ...]
    tests: tuple[tuple[str, ...], ...] | None = Field(
        None, description="Node ids per part; None: parts take whole groups as they free up."
    )
    groups: tuple[tuple[str, ...], ...] = ()
    timeout: float | None = None


class Task(BaseModel):
    """One unit of work: a suite, or one matrix combination of it, run by one runner."""

    model_config = ConfigDict(frozen=True)

    name: str
    suite: str
    kind: SuiteKind
    cwd: Path
    path: Path | None = None
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] = ()
    cli_args: tuple[str, ...] = Field(
        (), description="Arguments given after `--` on the command line, appended to the tool's."
    )
    env: dict[str, str] = Field(default_factory=dict)
    matrix: dict[str, str] = Field(default_factory=dict)
    pool: str | None = None
    resources: dict[str, float] = Field(default_factory=dict)
    timeout: float | None = None
    retry_count: int = 0
    priority: int = 0
    needs_app: bool = False
    retry_on: tuple[str, ...] = ()
    retry_on_attempts: int = 3
    retry_on_backoff: float = 1.0
    selected_tests: tuple[str, ...] = ()
    excluded_tests: tuple[str, ...] = ()
    split: int | Literal["auto"] | None = None
    split_keep_together: tuple[str, ...] = ()
    split_mode: Literal["fork", "processes"] = "fork"
    shard_of: str | None = None
    fork: ForkParts | None = None
    python: Interpreter | None = Field(
        None, description="Python that runs pytest or behave; None: qaagent's own interpreter."
    )
    cache: bool = Field(False, description="Served from an earlier passing run when unchanged.")
    inputs: tuple[str, ...] = Field(
        (), description="Glob patterns, relative to root, of the files its cache key reads."
    )
    root: Path | None = Field(None, description="The profile's folder, which inputs default to.")

    @property
    def workers_held(self) -> int:
        """Workers the task keeps busy: one per part of a forked suite, else one."""
        return len(self.fork.labels) if self.fork is not None else 1
