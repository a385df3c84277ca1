"""What `qaagent run-all` settles before a run: the folder, Chromium, the order, the events'
stream, the progress display, the backend."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from qaagent.errors import UsageError

if TYPE_CHECKING:
    from qaagent.config.loader import LoadedProfile
    from qaagent.execute.backend import BackendFactory
    from qaagent.plan.order import Order
    from qaagent.plan.parts import PartRequest
    from qaagent.secrets import SecretValues
    from qaagent.session import Progress, ProgressFactory

DEFAULT_CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class EventLines:
    """Where `--events jsonl[=PATH]` writes: stdout, or a file it appends to."""

    stream: TextIO
    on_stdout: bool


@contextlib.contextmanager
def open_event_lines(option: str | None, json_output: bool) -> Iterator[EventLines | None]:
    """The stream of --events while the run lasts.

    A malformed value, one that competes with --json for stdout, or a file that cannot be
    opened is a usage error.
    """
    if option is None:
        yield None
        return
    name, separator, path = option.partition("=")
    if name.strip().lower() != "jsonl" or (separator and not path):
        raise UsageError(f"--events {option!r}: use jsonl (on stdout) or jsonl=PATH (a file).")
    if not path:
        if json_output:
            raise UsageError(
                "--events jsonl and --json both want stdout: give the events a file "
                "(--events jsonl=PATH) or leave out one of them."
            )
        yield EventLines(sys.stdout, on_stdout=True)
        return
    with contextlib.ExitStack() as stack:
        try:
            stream = stack.enter_context(Path(path).open("a", encoding="utf-8"))
        except OSError as error:
            raise UsageError(
                f"--events jsonl={path}: the file cannot be opened for appending "
                f"({error.strerror or error}); its folder must exist and be writable."
            ) from None
        yield EventLines(stream, on_stdout=False)


def takes_stdout(events: EventLines | None, json_output: bool) -> bool:
    """Whether stdout is kept for JSON (--json, or --events jsonl), the rest going to stderr."""
    return json_output or (events is not None and events.on_stdout)


def working_folder() -> Path:
    """The folder qaagent was started in, read once, before anything can delete it."""
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise UsageError(
            "The current folder no longer exists; change to an existing folder and run again."
        ) from None


def find_chromium(given: str | None, environ: Mapping[str, str]) -> str | None:
    """--chromium, else $QAAGENT_CHROMIUM, else Debian's /usr/bin/chromium or one on PATH."""
    if given:
        return given
    if environ.get("QAAGENT_CHROMIUM"):
        return environ["QAAGENT_CHROMIUM"]
    if DEFAULT_CHROMIUM.exists():
        return str(DEFAULT_CHROMIUM)
    return shutil.which("chromium")


def parse_order(text: str | None) -> Order | None:
    """--order as an Order; anything else is a usage error."""
    from qaagent.plan.order import Order

    if text is None:
        return None
    try:
        return Order(text.strip().lower())
    except ValueError:
        raise UsageError(f"--order {text!r}: choose profile or duration.") from None


def part_request(
    given: Mapping[str, object], loaded: LoadedProfile, environ: Mapping[str, str]
) -> PartRequest | None:
    """--part (else $QAAGENT_PART) with the durations file or the saved plan to divide by.

    A durations file named on the command line is relative to the current folder, one in the
    profile or the environment to the profile's folder. --plan without --part is a usage error.
    """
    from qaagent.options import COMMAND_LINE, PART
    from qaagent.plan.parts import PartRequest, parse_part

    text = given.get("part") or PART.env_value(environ)
    plan = given.get("plan")
    if text is None:
        if plan is not None:
            raise UsageError(
                "--plan gives the parts of a plan: name this job's part with --part I/N."
            )
        return None
    where = "--part" if given.get("part") else f"${PART.env_var}"
    durations = loaded.profile.run.durations_file
    durations_file = None
    if durations is not None:
        base = Path.cwd() if loaded.sources.get("durations_file") == COMMAND_LINE else loaded.root
        durations_file = base / durations
    return PartRequest(
        parse_part(str(text), where),
        durations_file=durations_file,
        plan_file=Path(str(plan)) if plan is not None else None,
    )


@contextlib.contextmanager
def chosen_backend(
    loaded: LoadedProfile, given: Mapping[str, Any]
) -> Iterator[BackendFactory | None]:
    """The Dask cluster the run goes to while it lasts; None for threads of this process.

    Its workers must see the profile's folder and the runs folder, created here first.
    """
    from qaagent.config.loader import chosen_backend as backend_settings

    settings = backend_settings(loaded.profile.run.backend, given, os.environ)
    if settings.kind == "local":
        yield None
        return
    try:
        from qaagent.execute.dask_backend import dask_cluster
    except ImportError:
        raise UsageError(
            f"The {settings.kind} backend needs Dask: pip install 'qaagent[dask]'."
        ) from None
    loaded.runs_dir.mkdir(parents=True, exist_ok=True)
    resources: dict[str, float] = {}
    for suite in loaded.suites:
        for name, amount in suite.resources.items():
            resources[name] = max(amount, resources.get(name, 0.0))
    with dask_cluster(settings, [loaded.root, loaded.runs_dir], resources) as factory:
        yield factory


def progress_on(stream: TextIO) -> ProgressFactory:
    """The live board or plain progress lines on the stream, for the session to open."""
    from qaagent.reporting.display import make_progress

    def progress(secrets: SecretValues) -> Progress:
        return make_progress(stream, os.environ, secrets)

    return progress


def cache_wanted(given: Mapping[str, object], environ: Mapping[str, str]) -> bool:
    """Cached results stand unless --no-cache, or $QAAGENT_NO_CACHE set to other than 0/false/no."""
    from qaagent.options import NO_CACHE

    value = NO_CACHE.env_value(environ)
    forced = value is not None and value.strip().lower() not in {"0", "false", "no"}
    return not (given.get("no_cache") or forced)
