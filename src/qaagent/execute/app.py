"""The application under test: started once before the suites that need it, stopped after."""

from __future__ import annotations

import os
import shlex
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from qaagent.config.loader import LoadedProfile
from qaagent.config.models import AppEnvironment
from qaagent.execute.task import TaskCannotRun
from qaagent.logging import get_logger
from qaagent.model.task import Task
from qaagent.processes.tree import ProcessTree, await_gone
from qaagent.processes.watchdog import ProcessGuard

POLL_INTERVAL = 0.2
REQUEST_TIMEOUT = 2.0
STOP_GRACE = 5.0
LOG_TAIL_LINES = 30

APP_LOG_FOLDER = "_app"


class AppStartError(TaskCannotRun):
    """The app did not become healthy, or died while needed; the message ends with its log."""


def pick_environment(apps: Mapping[str, AppEnvironment], requested: str | None) -> str | None:
    """The environment named with --env, else `local`, else the first one; None without apps."""
    if requested is not None:
        return requested if requested in apps else None
    if "local" in apps:
        return "local"
    return next(iter(apps), None)


def health_url(environment: AppEnvironment) -> str:
    """The URL polled for readiness: the health endpoint (path or URL), else the base URL."""
    endpoint = environment.health_endpoint
    if endpoint is None:
        return environment.base_url
    if endpoint.startswith(("http://", "https://")):
        return endpoint
    return environment.base_url.rstrip("/") + "/" + endpoint.lstrip("/")


def probe(url: str) -> int | None:
    """HTTP status of one GET, or None when nothing answered."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def address(url: str) -> tuple[str, int]:
    """Host and port of a URL, with the scheme's default port."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = default
    return parts.hostname or "127.0.0.1", port


def port_answers(url: str) -> bool:
    """Whether anything accepts connections on the URL's host and port."""
    try:
        with socket.create_connection(address(url), timeout=REQUEST_TIMEOUT):
            return True
    except OSError:
        return False


def is_healthy(status: int | None, strict: bool) -> bool:
    """A health endpoint must answer 2xx; a bare base URL only needs to answer below 500."""
    if status is None:
        return False
    return 200 <= status < 300 if strict else status < 500


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, decoded leniently."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class AppLifecycle:
    """Starts the app for the first task that needs it and stops it after the last one.

    Thread-safe: tasks on several workers call `acquire` and `release`; the first start attempt's
    outcome, success or failure, is shared by every task.
    """

    def __init__(
        self,
        name: str,
        environment: AppEnvironment,
        cwd: Path,
        log_path: Path,
        users: int,
        env: Mapping[str, str],
        guard: ProcessGuard,
    ) -> None:
        self.name = name
        self.guard = guard
        self.environment = environment
        self.cwd = cwd
        self.log_path = log_path
        self._users = users
        self._env = dict(env)
        self._lock = threading.Lock()
        self._tree: ProcessTree | None = None
        self._failure: AppStartError | None = None
        self._started = False

    def acquire(self, stop: threading.Event) -> None:
        """Make sure the app runs and is healthy; raises AppStartError if it cannot be."""
        with self._lock:
            if not self._started:
                self._started = True
                try:
                    self._start(stop)
                except AppStartError as error:
                    self._failure = error
                    self._terminate()
            if self._failure is not None:
                raise self._failure
            self._raise_if_exited()

    def check_running(self) -> None:
        """Raise AppStartError if the app qaagent started has exited since it became healthy."""
        with self._lock:
            self._raise_if_exited()

    def release(self) -> None:
        """One task that needed the app is done; the last one stops it."""
        with self._lock:
            self._users -= 1
            if self._users <= 0:
                self._terminate()

    def stop(self) -> None:
        """Stop the app's whole process group, whoever still uses it."""
        with self._lock:
            self._terminate()

    def _start(self, stop: threading.Event) -> None:
        base_url = self.environment.base_url
        if port_answers(base_url):
            if self.environment.reuse_existing:
                get_logger(__name__).info("app reused", environment=self.name, url=base_url)
                return
            raise AppStartError(self._port_taken_message())
        command = self.environment.start_command or []
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self._env, "BASE_URL": base_url}
        with self.log_path.open("ab") as log:
            try:
                self._tree = ProcessTree.start(argv, self.cwd, env, log, self.guard)
            except OSError as error:
                raise AppStartError(
                    f"app {self.name!r}: cannot start {argv[0]!r} ({error.strerror})."
                ) from None
        process = self._tree.process
        get_logger(__name__).info(
            "app starting", environment=self.name, pid=process.pid, log=str(self.log_path)
        )
        self._wait_healthy(self._tree, stop)
        self._tree.remember()
        threading.Thread(
            target=self._track_while_serving, args=(self._tree,), name="app-tracker", daemon=True
        ).start()
        get_logger(__name__).info(
            "app healthy", environment=self.name, url=health_url(self.environment)
        )

    def _track_while_serving(self, tree: ProcessTree) -> None:
        """Remember the helpers the app starts while it serves, as a task's tree is followed."""
        while True:
            time.sleep(POLL_INTERVAL)
            with self._lock:
                if self._tree is not tree:
                    return
                tree.track()

    def _port_taken_message(self) -> str:
        host, port = address(self.environment.base_url)
        return (
            f"app {self.name!r}: something already answers on port {port} of {host} "
            f"({self.environment.base_url}) before qaagent started the app, so the tests would "
            f"run against it. Stop that server, point base_url at a free port, or set "
            f"reuse_existing: true under app.{self.name} to test against the running server."
        )

    def _raise_if_exited(self) -> None:
        """The app died while tasks still need it: an infrastructure error, never a test failure."""
        if self._tree is None or self._tree.process.poll() is None:
            return
        code = self._tree.process.returncode
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self._failure = self._failed(f"{how} while suites still needed it")
        raise self._failure

    def _wait_healthy(self, tree: ProcessTree, stop: threading.Event) -> None:
        process = tree.process
        url = health_url(self.environment)
        strict = self.environment.health_endpoint is not None
        limit = self.environment.startup_timeout
        deadline = time.monotonic() + limit
        while not is_healthy(probe(url), strict):
            tree.track()
            if process.poll() is not None:
                raise self._failed(f"exited with code {process.returncode} before {url} answered")
            if stop.wait(POLL_INTERVAL):
                raise self._failed("start was interrupted")
            if time.monotonic() >= deadline:
                raise self._failed(f"{url} did not answer with success within {limit:g}s")

    def _failed(self, reason: str) -> AppStartError:
        log_tail = tail(self.log_path)
        shown = f"\nLast lines of {self.log_path}:\n{log_tail}" if log_tail else ""
        return AppStartError(f"app {self.name!r} {reason}.{shown}")

    def _terminate(self) -> None:
        """End the app's whole tree, helpers that left its session included; the caller holds
        the lock.
        """
        tree, self._tree = self._tree, None
        if tree is None:
            return
        get_logger(__name__).info("app stopping", environment=self.name, pid=tree.process.pid)
        tree.end(STOP_GRACE, await_gone)
        tree.process.wait()
        tree.close()


def choose_environment(loaded: LoadedProfile, requested: str | None) -> str | None:
    """The app environment of the run; an unknown --env is a usage error."""
    from qaagent.errors import UsageError

    apps = loaded.profile.app
    chosen = pick_environment(apps, requested)
    if requested is not None and chosen is None:
        known = ", ".join(apps) or "none defined under app:"
        raise UsageError(f"--env {requested!r} is not an app environment of the profile ({known}).")
    return chosen


def app_env(loaded: LoadedProfile, environment: str | None) -> dict[str, str]:
    """Variables every task gets: BASE_URL of the chosen app environment."""
    if environment is None:
        return {}
    return {"BASE_URL": loaded.profile.app[environment].base_url}


def make_app(
    loaded: LoadedProfile,
    environment: str | None,
    tasks: list[Task],
    run_dir: Path,
    guard: ProcessGuard,
) -> AppLifecycle | None:
    """The app to start before the tasks that need it, if it has a start command."""
    if environment is None:
        return None
    settings = loaded.profile.app[environment]
    users = sum(1 for task in tasks if task.needs_app)
    if settings.start_command is None or users == 0:
        return None
    return AppLifecycle(
        environment,
        settings,
        loaded.root,
        run_dir / "artifacts" / APP_LOG_FOLDER / f"{environment}.log",
        users,
        app_env(loaded, environment),
        guard,
    )
