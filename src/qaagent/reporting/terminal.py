"""Text from tests made safe to echo on a terminal: no sequence but colour gets through.

Test output can hold escape sequences that set the window title, write the clipboard (OSC 52),
clear the screen, reset the terminal or ask it to answer (CSI 6n); echoed raw, they act on the
user's terminal. Logs keep the bytes; only what qaagent prints is cleaned.
"""

from __future__ import annotations

import re

SGR = r"\x1b\[[0-9;:]*m"
STRING_SEQUENCE = r"(?:\x1b[]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)"
CONTROL_SEQUENCE = r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
OTHER_ESCAPE = r"\x1b[ -/]*[0-~]?"
CONTROL_CHARACTER = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
SEQUENCE = re.compile(
    f"(?P<sgr>{SGR})|{STRING_SEQUENCE}|{CONTROL_SEQUENCE}|{OTHER_ESCAPE}|{CONTROL_CHARACTER}",
    re.DOTALL,
)


def terminal_safe(text: str, *, colour: bool = False) -> str:
    """Printable text and tabs and newlines; SGR colour sequences too when `colour` is on."""
    return SEQUENCE.sub(lambda match: match["sgr"] if colour and match["sgr"] else "", text)
