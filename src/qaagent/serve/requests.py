"""What a client may ask for: a profile under the root, a selection and a few run settings.

The request never carries a command: it picks suites of a profile and sets options that
`qaagent run-all` has anyway, and `run_all_argv` turns it into that command's options.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qaagent import options
from qaagent.config.models import NotifyTarget

PRIORITIES = {"critical": 100, "high": 75, "medium": 50, "low": 25}
CRITICAL = PRIORITIES["critical"]


class ResourceLimits(BaseModel):
    """Limits on the execution's whole process tree."""

    model_config = ConfigDict(extra="forbid")

    memory_mb: int | None = Field(
        None, ge=1, description="Resident memory of the whole tree; past it the run is killed."
    )
    cpu_percent: float | None = Field(
        None, gt=0, description="Advisory: noted, enforced only where cgroup v2 allows."
    )


class Configuration(BaseModel):
    """Run settings that override the profile's for this execution."""

    model_config = ConfigDict(extra="forbid")

    max_concurrent_tests: int | None = Field(
        None, ge=1, description="Tasks at once (--parallel --max-workers N)."
    )
    timeout_per_test: float | None = Field(None, gt=0, description="--timeout: seconds per task.")
    stop_on_first_failure: bool | None = Field(None, description="--fail-fast.")
    max_failures: int | None = Field(None, ge=1, description="--max-failures.")
    retry_count: int | None = Field(None, ge=0, description="--retries.")
    resource_limits: ResourceLimits = Field(default_factory=ResourceLimits)


class ExecutionRequest(BaseModel):
    """One execution: which profile, which of its suites, with which settings, how urgent."""

    model_config = ConfigDict(extra="forbid")

    profile: str = Field(description="The profile's path, relative to the server's --root.")
    suites: list[str] = Field(default_factory=list, description="Only these suites (globs).")
    skip: list[str] = Field(default_factory=list, description="Leave these suites out (globs).")
    last_failed: bool = False
    configuration: Configuration = Field(default_factory=Configuration)
    priority: Literal["critical", "high", "medium", "low"] | Annotated[int, Field(ge=0, le=100)] = (
        Field("medium", description="critical, high, medium, low, or a number from 0 to 100.")
    )
    labels: list[str] = Field(default_factory=list)
    requeue_interrupted: bool = Field(
        False, description="Queue it once more if a server stop interrupts it."
    )
    notify: list[NotifyTarget] = Field(
        default_factory=list,
        description="Web hooks to POST the summary to when it ends, besides the profile's.",
    )

    def priority_value(self) -> int:
        """The priority as a number: higher starts first."""
        if isinstance(self.priority, int):
            return self.priority
        return PRIORITIES[self.priority]


class BatchRequest(BaseModel):
    """Several executions queued at once."""

    model_config = ConfigDict(extra="forbid")

    executions: list[ExecutionRequest] = Field(min_length=1, max_length=1000)


class ProfileOutsideRoot(ValueError):
    """The profile named does not resolve to a file under the server's root."""


def resolve_profile(root: Path, profile: str) -> Path:
    """The profile's real path, which must be a file inside `root`."""
    path = (root / profile).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ProfileOutsideRoot(
            f"profile {profile!r} resolves to {path}, outside the server's root {root}; "
            "name a profile under the root."
        )
    if not path.is_file():
        raise ProfileOutsideRoot(f"profile {profile!r}: no such file under the root {root}.")
    return path


def run_all_argv(
    request: ExecutionRequest,
    profile: Path,
    events: Path,
    server_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """The `qaagent run-all` options that run this request with its events in `events`.

    `server_options` are run-all options the server was started with for every execution,
    such as its backend.
    """
    settings = request.configuration
    workers = settings.max_concurrent_tests
    return options.to_argv(
        {
            **(server_options or {}),
            "config": profile,
            "suite": request.suites,
            "skip": request.skip,
            "last_failed": request.last_failed or None,
            "parallel": True if workers is not None and workers > 1 else None,
            "max_workers": workers,
            "timeout": settings.timeout_per_test,
            "fail_fast": settings.stop_on_first_failure,
            "max_failures": settings.max_failures,
            "retry_count": settings.retry_count,
            "events": f"jsonl={events}",
        }
    )
