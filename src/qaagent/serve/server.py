"""uvicorn's server, made to drain the service on its first stop signal."""

from __future__ import annotations

import socket
import threading
from types import FrameType

import uvicorn

from qaagent.errors import UsageError
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


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to the address, or a usage error saying why it cannot be."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise UsageError(f"--host {host}: not an address to listen on ({error}).") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise UsageError(
            f"--host {host} --port {port}: cannot listen there ({error.strerror}); "
            "choose another port, or stop what uses it."
        ) from None
    return sock
