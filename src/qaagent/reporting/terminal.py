"""Text from tests made safe to echo on a terminal: no sequence but colour gets through.

Test output can hold escape sequences that set the window title, write the clipboard (OSC 52),
clear the screen, reset the terminal or ask it to answer (CSI 6n); echoed raw, they act on the
user's terminal. Logs keep the bytes; only what qaagent prints is cleaned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TextIO

ANSI_COLOURS = {"red": "31", "green": "32", "yellow": "33"}
SGR = r"\x1b\[[0-9;:]*m"
STRING_SEQUENCE = r"(?:\x1b[]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)"
CONTROL_SEQUENCE = r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
OTHER_ESCAPE = r"\x1b[ -/]*[0-~]?"
CONTROL_CHARACTER = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
SEQUENCE = re.compile(
    f"(?P<sgr>{SGR})|{STRING_SEQUENCE}|{CONTROL_SEQUENCE}|{OTHER_ESCAPE}|{CONTROL_CHARACTER}",
    re.DOTALL,
)


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


def console_colours(environ: Mapping[str, str]) -> dict[str, Any]:
    """Options for a rich Console that honour NO_COLOR and FORCE_COLOR.

    Rich alone keeps bold and dim under NO_COLOR, and reads only its own process environment;
    no colour system means no escape sequence at all.
    """
    choice = colour_choice(environ)
    if choice is None:
        return {}
    if choice:
        return {"force_terminal": True}
    return {"color_system": None, "no_color": True}


def paint(text: str, colour: str) -> str:
    """Text in one of the basic ANSI colours: `red`, `green` or `yellow`."""
    return f"\x1b[{ANSI_COLOURS[colour]}m{text}\x1b[0m"


def terminal_safe(text: str, *, colour: bool = False) -> str:
    """Printable text and tabs and newlines; SGR colour sequences too when `colour` is on."""
    return SEQUENCE.sub(lambda match: match["sgr"] if colour and match["sgr"] else "", text)
