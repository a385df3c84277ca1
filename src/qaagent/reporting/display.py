"""Which progress display a run gets: the live board on a terminal, plain lines anywhere else.

The plain lines need nothing beyond the standard library, so the board's module (and rich) is
imported only once the stream may be a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from qaagent.reporting.progress import PlainProgress, in_github_actions, may_be_terminal
from qaagent.secrets import NO_SECRETS, SecretValues
from qaagent.terminal import colour_wanted

if TYPE_CHECKING:
    from qaagent.reporting.console import LiveBoard


def make_progress(
    stream: TextIO, environ: Mapping[str, str], secrets: SecretValues = NO_SECRETS
) -> PlainProgress | LiveBoard:
    """The live board on an interactive terminal, plain lines anywhere else."""
    if may_be_terminal(stream, environ):
        from qaagent.reporting.console import live_board

        board = live_board(stream, environ, secrets)
        if board is not None:
            return board
    return PlainProgress(
        stream,
        secrets,
        groups=in_github_actions(environ),
        colour=colour_wanted(stream, environ),
    )
