"""Text from tests made safe to echo on a terminal: no sequence but colour gets through.

Test output can hold escape sequences that set the window title, write the clipboard (OSC 52),
clear the screen, reset the terminal or ask it to answer (CSI 6n); echoed raw, they act on the
user's terminal. Logs keep the bytes; only what qaagent prints is cleaned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from qaagent.terminal import colour_choice

ANSI_COLOURS = {"red": "31", "green": "32", "yellow": "33"}
SGR = r"\x1b\[[0-9;:]*m"
STRING_SEQUENCE = r"(?:\x1b[]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)"
CONTROL_SEQUENCE = r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
OTHER_ESCAPE = r"\x1b[ -/]*[0-~]?"
CONTROL_CHARACTER = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
SEQUENCE = re.compile(
    f"(?P<sgr>{SGR})|{STRING_SEQUENCE}|{CONTROL_SEQUENCE}|{OTHER_ESCAPE}|{CONTROL_CHARACTER}",
    re.DOTALL,
)


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


def plain_text(text: str) -> str:
    """Tool output without colour codes or the control characters XML and HTML cannot carry."""
    plain = ANSI_ESCAPE.sub("", text)
    return "".join(char for char in plain if char in "\t\n\r" or ord(char) >= 0x20)
