"""uvicorn's server, made to drain the service on its first stop signal."""

from __future__ import annotations

import threading
from types import FrameType

import uvicorn

from qaagent.serve.service import Service


class DrainingServer(uvicorn.Server):
    """uvicorn's server whose first stop signal drains the service before it stops serving.

    The live streams stay open while the running executions finish, so that their followers
    see the end; a second signal stops at once. The signal is not raised again after the
    shutdown, so a drained server exits 0.
    """

    def __init__(self, config: uvicorn.Config, service: Service) -> None:
        super().__init__(config)
        self.service = service
        self.draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain on a thread, then stop serving; second: stop now."""
        if self.draining:
            self.force_exit = self.should_exit = True
            return
        self.draining = True
        threading.Thread(target=self._drain_then_exit, name="qaagent-drain").start()

    def _drain_then_exit(self) -> None:
        """Let the service finish its executions, then let uvicorn shut down."""
        self.service.stop()
        self.should_exit = True
