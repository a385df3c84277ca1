"""The service as one object: its settings, its queue, its scheduler and how it stops."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from qaagent.errors import UsageError
from qaagent.processes.watchdog import ProcessGuard
from qaagent.serve.requests import ExecutionRequest, resolve_profile
from qaagent.serve.scheduler import Scheduler
from qaagent.serve.store import ExecutionRecord, NewExecution, QueueStore

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class ServeSettings:
    """What `qaagent serve` was started with."""

    root: Path
    data: Path
    max_executions: int = 2
    drain_timeout: float = 60.0
    token: str | None = None
    run_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Service:
    """The queue and the scheduler behind the API; one per data folder."""

    settings: ServeSettings
    guard: ProcessGuard
    store: QueueStore = field(init=False)
    scheduler: Scheduler = field(init=False)
    closing: threading.Event = field(default_factory=threading.Event)
    _lock_file: IO[Any] | None = None

    def __post_init__(self) -> None:
        self._lock_file = _lock_data_folder(self.settings.data)
        self.store = QueueStore(self.settings.data / "queue.sqlite3")
        self.scheduler = Scheduler(
            self.store,
            self.settings.data,
            self.settings.max_executions,
            self.guard,
            run_options=self.settings.run_options,
        )

    def start(self) -> None:
        """Recover what a stopped server left, then schedule."""
        self.scheduler.start()

    def submit(self, request: ExecutionRequest) -> ExecutionRecord:
        """Queue one execution of a profile under the root; ValueError naming a profile outside."""
        return self.submit_all([request])[0]

    def submit_all(self, requests: Sequence[ExecutionRequest]) -> list[ExecutionRecord]:
        """Queue executions at once, all or none: ValueError naming a profile outside the root."""
        profiles = {
            name: resolve_profile(self.settings.root, name)
            for name in {request.profile for request in requests}
        }
        return self.store.add_all(
            [
                NewExecution(
                    request={
                        "execution": request.model_dump(mode="json"),
                        "profile_path": str(profiles[request.profile]),
                    },
                    priority=request.priority_value(),
                    labels=request.labels,
                    requeue_interrupted=request.requeue_interrupted,
                )
                for request in requests
            ]
        )

    def stop(self) -> None:
        """Drain the running executions, close the live streams and the queue."""
        self.scheduler.drain(self.settings.drain_timeout)
        self.closing.set()

    def close(self) -> None:
        """Release the queue and the data folder."""
        self.store.close()
        if self._lock_file is not None:
            self._lock_file.close()


def _lock_data_folder(data: Path) -> IO[Any]:
    """Hold the data folder for this server alone; a second server on it is a usage error."""
    data.mkdir(parents=True, exist_ok=True)
    handle = (data / "server.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UsageError(
            f"another qaagent serve uses the data folder {data}; stop it or give --data another "
            "folder."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
