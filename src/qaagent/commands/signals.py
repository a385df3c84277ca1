"""How `qaagent run-all` takes Ctrl-C, SIGTERM and SIGHUP, and how it leaves."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from qaagent.processes.watchdog import ProcessGuard
    from qaagent.session import Session


def take_stop_signals(session: Session) -> list[int]:
    """SIGINT, SIGTERM and SIGHUP from now until exit; returns the list of those that came late.

    The first stops the run gracefully, the second at once. Before the tasks start, one ends
    qaagent at once with exit code 130, as before a run takes signals over. Once the manifest
    is written, signals are only noted: stopping would lose the latest link and the history row
    and leave an exit code that disagrees with the manifest. SIGHUP is a closed terminal or a
    dropped SSH session: the tasks run in sessions of their own, so nothing but qaagent would
    stop them. Only the main thread can install handlers.
    """
    from qaagent.execute.orchestrator import STOP_SIGNALS
    from qaagent.session import Phase

    late: list[int] = []
    obeyed = 0

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal obeyed
        if session.phase is Phase.planning:
            os._exit(130)
        if session.phase is Phase.done:
            late.append(signum)
            return
        obeyed += 1
        session.cancel(hard=obeyed > 1)

    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, handle)
    return late


def leave(exit_code: int, guard: ProcessGuard) -> NoReturn:
    """Exit once the output is flushed and the watchdog is gone, skipping interpreter teardown."""
    guard.close()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(exit_code)
