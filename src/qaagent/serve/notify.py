"""Web hooks told of an execution's end: its summary POSTed, retried with backoff, recorded.

The targets are the profile's `notify` entries and the request's own. Each gets up to three
tries, one second apart and then two; what happened is kept in the execution as
`notifications: [{url, status, attempts, error}]`. Secret values are masked in what is sent
and in what is recorded.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qaagent.config.models import NotifyTarget
from qaagent.errors import QAAgentError
from qaagent.secrets import SecretValues

TRIES = 3
FIRST_BACKOFF_SECONDS = 1.0
POST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Delivery:
    """What became of one notification."""

    url: str
    status: int | None
    attempts: int
    error: str | None

    def as_json(self) -> dict[str, Any]:
        """The delivery as the execution records it."""
        return asdict(self)


def wanted(target: NotifyTarget, state: str) -> bool:
    """Whether the target asked to hear of an execution that ended in `state`."""
    outcome = "passed" if state == "passed" else "failed"
    return "all" in target.on or outcome in target.on


def profile_targets(profile: Path) -> tuple[list[NotifyTarget], list[str]]:
    """The profile's `notify` entries and its secret names; none when it no longer loads."""
    from qaagent.config.loader import load_profile

    try:
        loaded = load_profile(profile).profile
    except QAAgentError:
        return [], []
    return list(loaded.notify), list(loaded.secrets)


def payload(execution: dict[str, Any], run_dir: str | None) -> dict[str, Any]:
    """The execution's id, state, labels and exit code, and its run's summary.json."""
    summary = None
    if run_dir is not None:
        try:
            summary = json.loads((Path(run_dir) / "reports" / "summary.json").read_text())
        except (OSError, ValueError):
            summary = None
    return {**execution, "summary": summary}


def deliver_all(
    targets: Iterable[NotifyTarget],
    body: dict[str, Any],
    secret_names: Sequence[str] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """POST the body, secrets masked, to each target that wants this end."""
    secrets = SecretValues.from_environments([os.environ], secret_names)
    data = json.dumps(secrets.mask_data(body)).encode()
    return [
        _masked(deliver(target.url, data, sleep), secrets)
        for target in targets
        if wanted(target, str(body.get("state")))
    ]


def deliver(url: str, data: bytes, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST JSON to the URL until it answers 2xx, at most `TRIES` times, backing off."""
    status: int | None = None
    error: str | None = None
    backoff = FIRST_BACKOFF_SECONDS
    for attempt in range(1, TRIES + 1):
        status, error = _post(url, data)
        if error is None:
            return Delivery(url, status, attempt, None)
        if attempt < TRIES:
            sleep(backoff)
            backoff *= 2
    return Delivery(url, status, TRIES, error)


def _post(url: str, data: bytes) -> tuple[int | None, str | None]:
    """One POST: the status, and an error unless it was 2xx."""
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as response:
            return response.status, None
    except urllib.error.HTTPError as failure:
        return failure.code, f"the hook answered HTTP {failure.code}"
    except (urllib.error.URLError, OSError) as failure:
        reason = getattr(failure, "reason", failure)
        return None, f"cannot reach the hook: {reason}"


def _masked(delivery: Delivery, secrets: SecretValues) -> Delivery:
    """The delivery with secret values masked in its URL and error."""
    error = None if delivery.error is None else secrets.mask(delivery.error)
    return Delivery(secrets.mask(delivery.url), delivery.status, delivery.attempts, error)
