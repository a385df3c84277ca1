"""Secret-looking values never reach the manifest or reports in clear."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path

from qaagent.model.results import TaskResult
from qaagent.secrets import MASK, SecretValues, is_secret_name

ASSIGNMENT = re.compile(r"^(?P<name>-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)
TEXT_SUFFIXES = frozenset({".xml", ".json", ".jsonl", ".txt", ".log", ".md", ".html", ".csv"})
COPY_CHUNK = 1 << 20


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


def mask_results(results: Iterable[TaskResult], secrets: SecretValues) -> list[TaskResult]:
    """Results with secret values masked in every text (messages, outputs, commands, errors).

    Every report and evidence file is built from these, so masking once here cleans them all.
    """
    if not secrets:
        return list(results)
    return [
        TaskResult.model_validate(secrets.mask_data(result.model_dump(round_trip=True)))
        for result in results
    ]


def scrub_text_files(folder: Path, secrets: SecretValues) -> None:
    """Mask secret values, as written or XML-escaped, in the text files tools left in `folder`."""
    if not secrets:
        return
    escaped = SecretValues(
        [
            *secrets.texts,
            *(escape(value, quote=quote) for value in secrets.texts for quote in (False, True)),
        ]
    )
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in TEXT_SUFFIXES and path.is_file() and not path.is_symlink():
            scrub_file(path, escaped)


def scrub_file(path: Path, secrets: SecretValues) -> None:
    """Rewrite a file with secret values masked; one without any is left untouched."""
    masker = secrets.stream()
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as target:
        written = Path(target.name)
        try:
            with path.open("rb") as source:
                while chunk := source.read(COPY_CHUNK):
                    target.write(masker.feed(chunk))
            target.write(masker.flush())
        except BaseException:
            written.unlink()
            raise
    if masker.found:
        written.replace(path)
    else:
        written.unlink()
