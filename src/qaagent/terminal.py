"""Whether qaagent colours what it writes: NO_COLOR, FORCE_COLOR, else a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO


def colour_choice(environ: Mapping[str, str]) -> bool | None:
    """What the environment says about colour: NO_COLOR (any value) off, FORCE_COLOR on.

    NO_COLOR wins, as no-color.org asks; None leaves it to whether the output is a terminal.
    """
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR", "").strip().lower() not in ("", "0", "false"):
        return True
    return None


def colour_wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether text written to the stream should be coloured."""
    choice = colour_choice(environ)
    return stream.isatty() if choice is None else choice
