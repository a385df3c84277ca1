"""Secret-looking values never reach the manifest or reports in clear."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|AUTH|CREDENTIAL", re.IGNORECASE)
ASSIGNMENT = re.compile(r"^(?P<name>-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)
MASK = "***"


def is_secret_name(name: str) -> bool:
    """Names like API_TOKEN, db_password or --auth-key."""
    return bool(SECRET_NAME.search(name))


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """Environment with secret-looking values masked."""
    return {name: MASK if is_secret_name(name) else value for name, value in env.items()}


def redact_argv(argv: Sequence[str]) -> list[str]:
    """Arguments with `NAME=value` and `--secret-flag value` values masked."""
    shown: list[str] = []
    mask_next = False
    for argument in argv:
        match = ASSIGNMENT.match(argument)
        if mask_next and not argument.startswith("-"):
            shown.append(MASK)
        elif match and is_secret_name(match["name"]):
            shown.append(f"{match['name']}={MASK}")
        else:
            shown.append(argument)
        mask_next = argument.startswith("-") and match is None and is_secret_name(argument)
    return shown


def redact_value(name: str, value: object) -> object:
    """A settings value with secrets masked, looking into nested mappings and lists."""
    if isinstance(value, Mapping):
        return {str(key): redact_value(str(key), item) for key, item in value.items()}
    if isinstance(value, str | list | tuple) and is_secret_name(name):
        return MASK
    if isinstance(value, list | tuple):
        if all(isinstance(item, str) for item in value):
            return redact_argv(value)
        return [redact_value(name, item) for item in value]
    return value
