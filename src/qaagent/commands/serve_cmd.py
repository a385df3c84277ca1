"""`qaagent serve`: the test-execution service over HTTP, until SIGTERM or Ctrl-C drains it."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qaagent import options
from qaagent.commands import setup_logging
from qaagent.commands.typer_options import typer_option
from qaagent.errors import UsageError

if TYPE_CHECKING:
    from qaagent.serve.service import ServeSettings

TOKEN_VARIABLE = "QAAGENT_SERVE_TOKEN"
BACKENDS = ("local", "dask", "dask-local")


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; any but loopback requires a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8765,
    root: Annotated[
        Path, typer.Option(help="Folder whose profiles the API may run; nothing outside it.")
    ] = Path(),
    data: Annotated[
        Path | None,
        typer.Option(
            help="Where the queue and the events are kept (default: ROOT/.qaagent/serve)."
        ),
    ] = None,
    max_executions: Annotated[int, typer.Option(min=1, help="Executions running at once.")] = 2,
    drain_timeout: Annotated[
        float,
        typer.Option(min=0, help="Seconds running executions may finish after SIGTERM."),
    ] = 60.0,
    backend: Annotated[str | None, typer_option(options.BACKEND)] = None,
    dask_scheduler: Annotated[str | None, typer_option(options.SCHEDULER)] = None,
    dask_workers: Annotated[int | None, typer_option(options.DASK_WORKERS)] = None,
) -> None:
    """Serve test executions: a durable queue, live progress, cancellation.

    Executions run profiles under --root, each as its own `qaagent run-all` whose run folder
    is an ordinary one. On a non-loopback --host every request needs `Authorization: Bearer
    <token>`: $QAAGENT_SERVE_TOKEN, or a token printed at start. SIGTERM or Ctrl-C stops
    admitting, lets running executions finish for --drain-timeout, stops the rest (their
    evidence written) and exits 0. --backend, --scheduler and --dask-workers are passed to
    every execution's run-all.
    """
    setup_logging()
    try:
        import uvicorn

        from qaagent.serve.api import create_app
        from qaagent.serve.server import DrainingServer, listening_socket
    except ImportError as error:
        raise UsageError(
            f"qaagent serve needs its extra ({error.name} is missing): "
            "pip install 'qaagent[serve]'."
        ) from None
    from qaagent.processes.watchdog import ProcessGuard
    from qaagent.serve.service import Service

    settings = serve_settings(host, root, data, max_executions, drain_timeout)
    settings = replace(settings, run_options=backend_options(backend, dask_scheduler, dask_workers))
    guard = ProcessGuard()
    with contextlib.closing(listening_socket(host, port)) as sock:
        service = Service(settings, guard)
        try:
            service.start()
            config = uvicorn.Config(
                create_app(service), log_level="warning", timeout_graceful_shutdown=5
            )
            bound = sock.getsockname()[1]
            typer.echo(f"qaagent serve: http://{_shown_host(host)}:{bound}/api/v1", err=True)
            DrainingServer(config, service).run(sockets=[sock])
        finally:
            service.close()
            guard.close()


def serve_settings(
    host: str, root: Path, data: Path | None, max_executions: int, drain_timeout: float
) -> ServeSettings:
    """The service's settings: a real root folder, and a token where the bind needs one."""
    from qaagent.serve.service import LOOPBACK_HOSTS, ServeSettings

    root = root.resolve()
    if not root.is_dir():
        raise UsageError(f"--root {root}: no such folder.")
    token = os.environ.get(TOKEN_VARIABLE) or None
    if token is None and host not in LOOPBACK_HOSTS:
        token = secrets.token_urlsafe(32)
        typer.echo(
            f"qaagent serve: listening beyond loopback; requests need the header "
            f"'Authorization: Bearer {token}' (set ${TOKEN_VARIABLE} to choose it).",
            err=True,
        )
    return ServeSettings(
        root=root,
        data=(data or root / ".qaagent" / "serve").resolve(),
        max_executions=max_executions,
        drain_timeout=drain_timeout,
        token=token,
    )


def backend_options(
    backend: str | None, dask_scheduler: str | None, dask_workers: int | None
) -> dict[str, object]:
    """The backend options every execution's run-all gets; a usage error for an unknown one."""
    if backend is not None and backend not in BACKENDS:
        raise UsageError(f"--backend {backend}: choose one of {', '.join(BACKENDS)}.")
    given = {"backend": backend, "dask_scheduler": dask_scheduler, "dask_workers": dask_workers}
    return {name: value for name, value in given.items() if value is not None}


def _shown_host(host: str) -> str:
    """The host as a URL shows it."""
    return f"[{host}]" if ":" in host else host
