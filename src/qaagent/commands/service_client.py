"""A client of `qaagent serve` on the standard library alone, so it needs no `serve` extra.

Requests and answers are JSON; an answer 4xx is a usage error naming the server's message
(exit code 2), a server that cannot be reached or answers 5xx an infrastructure error (3).
Events are read from the execution's Server-Sent Events stream, resumed after the last one
seen when the connection drops.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qaagent.errors import InfrastructureError, UsageError

if TYPE_CHECKING:
    import urllib.error

DEFAULT_SERVER = "http://127.0.0.1:8765"
SERVER_VARIABLE = "QAAGENT_SERVER"
TOKEN_VARIABLE = "QAAGENT_SERVE_TOKEN"
REQUEST_TIMEOUT_SECONDS = 30.0
STREAM_TIMEOUT_SECONDS = 3600.0

ServerOption = Annotated[
    str,
    typer.Option(
        "--server",
        envvar=SERVER_VARIABLE,
        help=f"The qaagent serve to talk to (${SERVER_VARIABLE}).",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar=TOKEN_VARIABLE,
        show_envvar=True,
        help="The server's token, sent as 'Authorization: Bearer'; never printed.",
    ),
]


@dataclass(frozen=True)
class ServiceClient:
    """The API of one server, with its token."""

    server: str
    token: str | None = None

    def get(self, path: str) -> Any:
        """The JSON answer to a GET."""
        return self.call("GET", path)

    def post(self, path: str, body: Any) -> Any:
        """The JSON answer to a POST of a JSON body."""
        return self.call("POST", path, body)

    def delete(self, path: str) -> Any:
        """The JSON answer to a DELETE."""
        return self.call("DELETE", path)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request to `/api/v1{path}`; the server's refusal as a usage error."""
        data = None if body is None else json.dumps(body).encode()
        with self._open(method, path, data, {}, REQUEST_TIMEOUT_SECONDS) as response:
            return json.loads(response.read() or b"null")

    def events(self, execution_id: str, after: int = 0) -> Iterator[dict[str, Any]]:
        """The execution's events after `after`, until its stream ends with it."""
        headers = {"Last-Event-ID": str(after)} if after else {}
        path = f"/executions/{execution_id}/events"
        with self._open("GET", path, None, headers, STREAM_TIMEOUT_SECONDS) as response:
            for raw in response:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line.startswith("data: "):
                    yield json.loads(line[len("data: ") :])

    def _open(
        self,
        method: str,
        path: str,
        data: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> Any:
        """The open response, or the error a client of qaagent should see.

        urllib is imported here, so that every other command starts without it.
        """
        import urllib.error
        import urllib.request

        url = f"{self.server.rstrip('/')}/api/v1{path}"
        headers = {**headers, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            raise _refusal(self.server, error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise InfrastructureError(
                f"cannot reach the qaagent server at {self.server} ({reason}); start it with "
                f"`qaagent serve`, or name another with --server or ${SERVER_VARIABLE}."
            ) from None


def _refusal(server: str, error: urllib.error.HTTPError) -> UsageError | InfrastructureError:
    """The server's own message for a refused request: 4xx a usage error, 5xx infrastructure."""
    try:
        message = json.loads(error.read()).get("error") or error.reason
    except (ValueError, AttributeError, OSError):
        message = error.reason
    text = f"the server at {server} answered {error.code}: {message}"
    if error.code >= 500:
        return InfrastructureError(text)
    return UsageError(text)
