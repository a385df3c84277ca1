"""The HTTP API under `/api/v1`: queue, follow, cancel and read executions; one WebSocket.

Every answer is JSON, errors included (`{"error": …}`); bad input is a 422 that says what to
change. With a token, every endpoint and the WebSocket want `Authorization: Bearer <token>`
(the WebSocket, the event streams and the run folders' files also take `?token=`); only the
dashboard's page, which holds no data, loads without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException
from starlette.websockets import WebSocketDisconnect

from qaagent import __version__
from qaagent.serve.dashboard import dashboard_routes
from qaagent.serve.eventlog import read_events
from qaagent.serve.progress import progress_of
from qaagent.serve.requests import (
    BatchRequest,
    ExecutionRequest,
    ProfileOutsideRoot,
)
from qaagent.serve.service import Service
from qaagent.serve.states import ACTIVE_STATES, ExecutionState
from qaagent.serve.stats import queue_stats, system_resources
from qaagent.serve.store import ExecutionRecord
from qaagent.serve.views import execution_view

PREFIX = "/api/v1"
POLL_SECONDS = 0.2
RESOURCES_SECONDS = 2.0
SYSTEM_RESOURCES = "system-resources"


class ApiError(HTTPException):
    """An error answered as `{"error": message}` with its status."""


def create_app(service: Service) -> FastAPI:
    """The FastAPI application over a service; the caller starts and stops the service."""
    app = FastAPI(title="qaagent serve", version=__version__)
    app.middleware("http")(_token_check(service))
    app.include_router(_routes(service), prefix=PREFIX)
    app.include_router(dashboard_routes(service, PREFIX))
    app.add_api_websocket_route("/ws", _websocket(service))
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_input)
    return app


def _routes(service: Service) -> APIRouter:
    """Every HTTP endpoint of the API."""
    router = APIRouter()

    @router.get("/health")
    def health() -> dict[str, Any]:
        """The server is up, and whether it still admits executions."""
        return {"status": "ok", "version": __version__, "admitting": service.scheduler.admitting}

    @router.post("/executions", status_code=201)
    def submit(request: ExecutionRequest) -> dict[str, Any]:
        """Queue one execution."""
        return execution_view(_submitted(service, request))

    @router.post("/executions/batch", status_code=201)
    def submit_batch(batch: BatchRequest) -> JSONResponse:
        """Queue several executions in one transaction; none when one names a bad profile.

        The answer is plain JSON already, so it skips FastAPI's encoder, slow on large batches.
        """
        try:
            records = service.submit_all(batch.executions)
        except ProfileOutsideRoot as error:
            raise ApiError(422, str(error)) from None
        views = [execution_view(record) for record in records]
        return JSONResponse({"executions": views}, status_code=201)

    @router.get("/executions/active")
    def active() -> dict[str, Any]:
        """Running, then queued executions in the order they will start."""
        return {"executions": [execution_view(record) for record in service.store.active()]}

    @router.get("/executions")
    def search(
        state: Annotated[list[ExecutionState] | None, Query()] = None,
        label: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """The newest executions, by state and label."""
        records = service.store.search(state or (), label, limit)
        return {"executions": [execution_view(record) for record in records]}

    @router.get("/executions/{execution_id}")
    def execution(execution_id: str) -> dict[str, Any]:
        """One execution: its state, counts and times."""
        return execution_view(_record(service, execution_id))

    @router.delete("/executions/{execution_id}")
    def cancel(execution_id: str) -> dict[str, Any]:
        """Cancel a queued execution, or stop a running one and keep its evidence."""
        _record(service, execution_id)
        record = service.scheduler.cancel(execution_id)
        return execution_view(_record(service, execution_id) if record is None else record)

    @router.get("/executions/{execution_id}/progress")
    def progress(execution_id: str) -> dict[str, Any]:
        """Percent done, tests done and expected, and an ETA, from the events so far."""
        _record(service, execution_id)
        events = read_events(service.scheduler.files(execution_id).events)
        return progress_of(events, datetime.now(UTC)).as_json()

    @router.get("/executions/{execution_id}/results")
    def results(execution_id: str) -> Any:
        """The run's summary.json, once the run wrote it."""
        summary = _run_dir(service, execution_id) / "reports" / "summary.json"
        if not summary.is_file():
            raise ApiError(404, f"execution {execution_id} has no summary.json (yet).")
        return json.loads(summary.read_text(encoding="utf-8"))

    @router.get("/executions/{execution_id}/files/{path:path}")
    def file(execution_id: str, path: str) -> FileResponse:
        """A file of the run folder; nothing outside it, symlinks out included."""
        run_dir = _run_dir(service, execution_id).resolve()
        target = (run_dir / path).resolve()
        if not target.is_relative_to(run_dir) or not target.is_file():
            raise ApiError(404, f"{path!r} is not a file of execution {execution_id}'s run folder.")
        return FileResponse(target)

    @router.get("/executions/{execution_id}/events")
    def events(
        execution_id: str,
        request: Request,
        last_event_id: Annotated[int | None, Header()] = None,
    ) -> StreamingResponse:
        """The execution's events as Server-Sent Events, after `Last-Event-ID` when given."""
        _record(service, execution_id)
        stream = _event_stream(service, execution_id, last_event_id or 0, request)
        return StreamingResponse(stream, media_type="text/event-stream")

    @router.get("/queue/stats")
    def stats() -> dict[str, Any]:
        """Executions per state, wait and run times, throughput."""
        return queue_stats(service.store.all_rows())

    @router.get("/system/resources")
    def resources() -> dict[str, Any]:
        """CPU, memory, load, and each running execution's resident memory."""
        return system_resources(service.scheduler.tree_rss())

    return router


def _submitted(service: Service, request: ExecutionRequest) -> ExecutionRecord:
    """Queue the request, or answer 422 naming the profile outside the root."""
    try:
        return service.submit(request)
    except ProfileOutsideRoot as error:
        raise ApiError(422, str(error)) from None


def _record(service: Service, execution_id: str) -> ExecutionRecord:
    """The execution, or 404."""
    record = service.store.get(execution_id)
    if record is None:
        raise ApiError(404, f"no execution {execution_id!r}; list them at {PREFIX}/executions.")
    return record


def _run_dir(service: Service, execution_id: str) -> Path:
    """The execution's run folder, or 404 while it has none."""
    record = _record(service, execution_id)
    if record.run_dir is None:
        raise ApiError(404, f"execution {execution_id} has no run folder (yet).")
    return Path(record.run_dir)


async def _event_stream(
    service: Service, execution_id: str, after: int, request: Request
) -> AsyncIterator[str]:
    """SSE frames of new events until the execution ended and its last event was sent."""
    path = service.scheduler.files(execution_id).events
    while not service.closing.is_set() and not await request.is_disconnected():
        over = _ended(service, execution_id)
        for event in read_events(path, after):
            after = event["seq"]
            yield f"id: {after}\nevent: {event['kind']}\ndata: {json.dumps(event)}\n\n"
        if over:
            return
        await asyncio.sleep(POLL_SECONDS)


def _ended(service: Service, execution_id: str) -> bool:
    """The execution is over (or gone), so no event will be added."""
    record = service.store.get(execution_id)
    return record is None or record.state not in ACTIVE_STATES


def _token_check(service: Service) -> Any:
    """Middleware that answers 401 to any HTTP request, the OpenAPI one too, without the token."""

    async def check(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        query_token = request.query_params.get("token") if _takes_query_token(request) else None
        authorized = _authorized(service, request.headers.get("authorization"), query_token)
        if not authorized and not _is_dashboard_page(request):
            return JSONResponse({"error": _UNAUTHORIZED}, status_code=401)
        return await call_next(request)

    return check


def _takes_query_token(request: Request) -> bool:
    """Whether the token may come as `?token=`: what a browser opens without headers.

    EventSource cannot send headers, nor can a link to a report, so the event streams and
    the run folders' files accept it; nothing logs the query.
    """
    path = request.url.path
    return request.method == "GET" and (path.endswith("/events") or "/files/" in path)


def _is_dashboard_page(request: Request) -> bool:
    """The dashboard's page, which holds no data: it asks for everything with the token."""
    return request.method == "GET" and request.url.path == "/"


_UNAUTHORIZED = (
    "this server wants its token: send 'Authorization: Bearer <token>' (the token is "
    "$QAAGENT_SERVE_TOKEN, or the one qaagent serve printed when it started)."
)


def _authorized(
    service: Service, authorization: str | None, query_token: str | None = None
) -> bool:
    """Whether the bearer token (or a `?token=` where one is taken) matches; always without one."""
    expected = service.settings.token
    if expected is None:
        return True
    given = query_token
    if authorization is not None and authorization.lower().startswith("bearer "):
        given = authorization[len("bearer ") :].strip()
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _websocket(service: Service) -> Any:
    """The `/ws` endpoint: subscribe to executions' events and to the system's resources."""

    async def endpoint(websocket: WebSocket) -> None:
        query_token = websocket.query_params.get("token")
        if not _authorized(service, websocket.headers.get("authorization"), query_token):
            await _deny(websocket)
            return
        await websocket.accept()
        subscriptions: dict[str, int] = {}
        reader = asyncio.create_task(_read_subscriptions(service, websocket, subscriptions))
        try:
            await _send_subscribed(service, websocket, subscriptions, reader)
        except WebSocketDisconnect:
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await reader

    return endpoint


async def _deny(websocket: WebSocket) -> None:
    """Refuse the handshake with the 401 JSON, or close it where the server cannot send one."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"error": _UNAUTHORIZED}, 401))
    else:
        await websocket.close(code=1008, reason="unauthorized")


async def _read_subscriptions(
    service: Service, websocket: WebSocket, subscriptions: dict[str, int]
) -> None:
    """Apply `{"subscribe": id}` and `{"unsubscribe": id}` messages as they come."""
    while True:
        message = await websocket.receive_json()
        if not isinstance(message, dict):
            await websocket.send_json({"error": 'send {"subscribe": ID} or {"unsubscribe": ID}'})
            continue
        wanted = message.get("subscribe")
        if wanted != SYSTEM_RESOURCES and isinstance(wanted, str) and not service.store.get(wanted):
            await websocket.send_json({"error": f"no execution {wanted!r} to subscribe to"})
        elif isinstance(wanted, str):
            subscriptions.setdefault(wanted, 0)
        elif isinstance(message.get("unsubscribe"), str):
            subscriptions.pop(message["unsubscribe"], None)
        else:
            await websocket.send_json({"error": 'send {"subscribe": ID} or {"unsubscribe": ID}'})


async def _send_subscribed(
    service: Service,
    websocket: WebSocket,
    subscriptions: dict[str, int],
    reader: asyncio.Task[None],
) -> None:
    """Send new events of each subscribed execution and the resources every few seconds."""
    last_resources = 0.0
    loop = asyncio.get_running_loop()
    while not reader.done() and not service.closing.is_set():
        for key, after in list(subscriptions.items()):
            if key == SYSTEM_RESOURCES:
                continue
            for event in read_events(service.scheduler.files(key).events, after):
                subscriptions[key] = event["seq"]
                await websocket.send_json({**event, "execution": key})
        if SYSTEM_RESOURCES in subscriptions and loop.time() - last_resources > RESOURCES_SECONDS:
            last_resources = loop.time()
            resources = system_resources(service.scheduler.tree_rss())
            await websocket.send_json({"kind": SYSTEM_RESOURCES, **resources})
        await asyncio.sleep(POLL_SECONDS)
    if reader.done() and reader.exception() is not None:
        raise WebSocketDisconnect


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    """Errors as `{"error": message}`."""
    assert isinstance(error, HTTPException)
    return JSONResponse({"error": error.detail}, status_code=error.status_code)


async def _invalid_input(request: Request, error: Exception) -> JSONResponse:
    """Bad input as a 422 naming each field and what is wrong with it."""
    assert isinstance(error, RequestValidationError)
    problems = [
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors()
    ]
    return JSONResponse({"error": "; ".join(problems), "detail": problems}, status_code=422)
