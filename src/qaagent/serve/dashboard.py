"""The dashboard at `/`: one HTML page fed by one server-wide SSE stream, `/api/v1/events`.

The page is a shell without data, so it loads without the token; everything it shows comes
from the stream (a `snapshot` event: running executions with their progress, the queue,
recent executions, the machine's resources) and its buttons call the API with the token the
page was opened with (`/?token=…`, kept in the tab's sessionStorage).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException

from qaagent import __version__
from qaagent.serve.eventlog import read_events
from qaagent.serve.progress import progress_of
from qaagent.serve.requests import ExecutionRequest
from qaagent.serve.service import Service
from qaagent.serve.states import ACTIVE_STATES, ExecutionState
from qaagent.serve.stats import queue_stats, system_resources
from qaagent.serve.views import execution_view

SNAPSHOT_SECONDS = 1.0
QUEUED_SHOWN = 50
RECENT_SHOWN = 20
ENDED_STATES = tuple(state for state in ExecutionState if state not in ACTIVE_STATES)


def dashboard_routes(service: Service, prefix: str) -> APIRouter:
    """The page at `/`, the server-wide stream it follows, and the re-run its button asks for."""
    router = APIRouter()
    page = _template().render(prefix=prefix, version=__version__)

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> HTMLResponse:
        """The dashboard's page."""
        return HTMLResponse(page)

    @router.post(f"{prefix}/executions/{{execution_id}}/rerun", status_code=201)
    def rerun(execution_id: str) -> dict[str, Any]:
        """Queue the execution again, its failed tests only, with the same settings."""
        record = service.store.get(execution_id)
        if record is None:
            raise HTTPException(404, f"no execution {execution_id!r} to run again.")
        stored = record.request["execution"]
        request = ExecutionRequest.model_validate({**stored, "last_failed": True})
        return execution_view(service.submit(request))

    @router.get(f"{prefix}/events")
    def events(request: Request) -> StreamingResponse:
        """Server-Sent Events: a `snapshot` of the queue, progress and resources each second."""
        return StreamingResponse(_snapshots(service, request), media_type="text/event-stream")

    return router


def _template() -> Any:
    """The page's Jinja template, from the package."""
    environment = Environment(
        loader=PackageLoader("qaagent.serve", "templates"), autoescape=select_autoescape()
    )
    return environment.get_template("dashboard.html.j2")


async def _snapshots(service: Service, request: Request) -> AsyncIterator[str]:
    """A snapshot frame each second until the client leaves or the server closes."""
    number = 0
    while not service.closing.is_set() and not await request.is_disconnected():
        number += 1
        shown = await asyncio.to_thread(snapshot, service)
        yield f"id: {number}\nevent: snapshot\ndata: {json.dumps(shown)}\n\n"
        await asyncio.sleep(SNAPSHOT_SECONDS)


def snapshot(service: Service) -> dict[str, Any]:
    """Running executions with their progress, the queue, recent ends, resources and stats."""
    active = service.store.active()
    queued = [record for record in active if record.state is ExecutionState.queued]
    now = datetime.now(UTC)
    running = [
        {
            **execution_view(record),
            "progress": progress_of(
                read_events(service.scheduler.files(record.id).events), now
            ).as_json(),
        }
        for record in active
        if record.state is ExecutionState.running
    ]
    return {
        "running": running,
        "queued": [execution_view(record) for record in queued[:QUEUED_SHOWN]],
        "queued_total": len(queued),
        "recent": [
            execution_view(record)
            for record in service.store.search(ENDED_STATES, None, RECENT_SHOWN)
        ],
        "resources": system_resources(service.scheduler.tree_rss()),
        "stats": queue_stats(service.store.all_rows()),
    }
