"""`python -m qaagent` and the `qaagent` command: quiet on Ctrl-C from the first moment.

Until a run takes over Ctrl-C, it ends the process at once with exit code 130. Python's own
KeyboardInterrupt could be raised anywhere, in the middle of an import or inside a callback
that swallows it, and then print a traceback, die by the signal or be lost altogether.
"""

import os
import signal


def _leave_interrupted(signum: int, frame: object) -> None:
    """Exit 130 at once; the watchdog ends any command already started."""
    os._exit(130)


def main() -> None:
    """A quiet Ctrl-C handler first, then the command line."""
    signal.signal(signal.SIGINT, _leave_interrupted)
    from qaagent.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
