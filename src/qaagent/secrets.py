"""Secret values masked as `***` wherever qaagent writes or prints, as CI systems do.

Pure logic with no qaagent imports, so runners, evidence and reporting can all use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import AnyStr

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|AUTH|CREDENTIAL", re.IGNORECASE)
MASK = "***"
MIN_SECRET_LENGTH = 4
HOLD_LIMIT = 1 << 16


def is_secret_name(name: str) -> bool:
    """Names like API_TOKEN, db_password or --auth-key."""
    return bool(SECRET_NAME.search(name))


class SecretValues:
    """The values to hide; shorter ones are left alone, since they would mask ordinary text."""

    def __init__(self, values: Iterable[str]) -> None:
        found = {value for value in values if len(value) >= MIN_SECRET_LENGTH}
        found |= {line for value in found for line in value.splitlines()}
        self.texts = sorted(
            (value for value in found if len(value) >= MIN_SECRET_LENGTH), key=len, reverse=True
        )
        self.encoded = [value.encode() for value in self.texts]

    @classmethod
    def from_environments(
        cls, environments: Iterable[Mapping[str, str]], names: Iterable[str] = ()
    ) -> SecretValues:
        """Values of secret-looking variables, and of the variables named as secrets."""
        listed = set(names)
        return cls(
            value
            for env in environments
            for name, value in env.items()
            if name in listed or is_secret_name(name)
        )

    def __bool__(self) -> bool:
        return bool(self.texts)

    def mask(self, text: str) -> str:
        """The text with every secret value replaced by `***`."""
        return _masked(text, self.texts, MASK) if self.texts else text

    def mask_bytes(self, data: bytes) -> bytes:
        """The bytes with every secret value's UTF-8 form replaced by `***`."""
        return _masked(data, self.encoded, MASK.encode()) if self.encoded else data

    def mask_data(self, value: object) -> object:
        """Strings masked anywhere inside nested mappings, lists and tuples."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {key: self.mask_data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_data(item) for item in value]
        return value

    def stream(self) -> StreamMasker:
        """A masker for output that arrives in chunks, which may split a secret in two."""
        return StreamMasker(self)


NO_SECRETS = SecretValues(())


class StreamMasker:
    """Masks a byte stream chunk by chunk, holding back what could be the start of a secret.

    Only an ending that a secret starts with is held (at most len(longest secret) - 1 bytes,
    or the whole of a run of overlapping secrets up to HOLD_LIMIT bytes), so ordinary output
    reaches the log at once; `flush` releases what is held once the stream ends.
    """

    def __init__(self, secrets: SecretValues) -> None:
        self.secrets = secrets
        self.reach = max(map(len, secrets.encoded), default=1) - 1
        self.held = b""
        self.found = False

    def feed(self, chunk: bytes) -> bytes:
        """The masked bytes that are safe to write now."""
        if not self.secrets:
            return chunk
        data = self.held + chunk
        cut = len(data) - self._secret_start_at_end(data)
        for start, end in _spans(data, self.secrets.encoded):
            if start < cut < end:
                cut = start if len(data) - start <= HOLD_LIMIT else end
        self.held = data[cut:]
        return self._mask(data[:cut])

    def _secret_start_at_end(self, data: bytes) -> int:
        """Length of the longest ending of `data` that could be the start of a secret."""
        for length in range(min(self.reach, len(data)), 0, -1):
            ending = data[-length:]
            if any(secret.startswith(ending) for secret in self.secrets.encoded):
                return length
        return 0

    def flush(self) -> bytes:
        """The masked rest, once no more output can follow."""
        rest, self.held = self.held, b""
        return self._mask(rest)

    def _mask(self, data: bytes) -> bytes:
        masked = self.secrets.mask_bytes(data)
        self.found = self.found or masked != data
        return masked


def _spans(haystack: AnyStr, needles: Iterable[AnyStr]) -> list[tuple[int, int]]:
    """Where any needle occurs, overlapping occurrences merged into one span."""
    found: list[tuple[int, int]] = []
    for needle in needles:
        start = haystack.find(needle)
        while start != -1:
            found.append((start, start + len(needle)))
            start = haystack.find(needle, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _masked(haystack: AnyStr, needles: Iterable[AnyStr], mask: AnyStr) -> AnyStr:
    """The haystack with each span covered by needles replaced by one mask."""
    pieces: list[AnyStr] = []
    position = 0
    for start, end in _spans(haystack, needles):
        pieces += [haystack[position:start], mask]
        position = end
    pieces.append(haystack[position:])
    return haystack[:0].join(pieces)
