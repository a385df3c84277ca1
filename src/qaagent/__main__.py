"""`python -m qaagent` and the `qaagent` command: quiet on Ctrl-C from the first moment.

Ctrl-C during the imports of the command line would otherwise print a KeyboardInterrupt
traceback; until `qaagent.cli.main` takes over, it ends the process with exit code 130.
"""

import os
import signal


def _leave_interrupted(signum: int, frame: object) -> None:
    """Exit 130 at once: nothing has been started or written yet."""
    os._exit(130)


def main() -> None:
    """A quiet Ctrl-C handler first, then the command line."""
    signal.signal(signal.SIGINT, _leave_interrupted)
    from qaagent.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
