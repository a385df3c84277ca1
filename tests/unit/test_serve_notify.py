"""Which hooks hear of an execution's end, how often they are tried, and what run-all gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from qaagent.config.models import NotifyTarget
from qaagent.serve import notify
from qaagent.serve.requests import ExecutionRequest, run_all_argv


@pytest.mark.parametrize(
    ("on", "state", "told"),
    [
        (["all"], "passed", True),
        (["failed"], "passed", False),
        (["failed"], "error", True),
        (["passed"], "passed", True),
        (["passed"], "failed", False),
    ],
)
def test_a_hook_hears_only_of_the_ends_it_asked_for(on: list[Any], state: str, told: bool) -> None:
    assert notify.wanted(NotifyTarget(url="http://hooks.example/x", on=on), state) is told


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "http://"])
def test_only_http_and_https_hooks_are_accepted(url: str) -> None:
    with pytest.raises(ValidationError, match="not an http:// or https:// address"):
        NotifyTarget(url=url)


def test_an_unreachable_hook_is_tried_three_times_backing_off_from_one_second() -> None:
    waits: list[float] = []

    delivery = notify.deliver("http://127.0.0.1:1/hook", b"{}", waits.append)

    assert delivery.attempts == 3 and delivery.status is None
    assert delivery.error is not None and "cannot reach the hook" in delivery.error
    assert waits == [1.0, 2.0]


def test_secret_values_are_masked_in_what_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "s3cret-value-123")
    target = NotifyTarget(url="http://127.0.0.1:1/hook?key=s3cret-value-123")

    [delivery] = notify.deliver_all([target], {"state": "failed"}, sleep=lambda _: None)

    assert "s3cret-value-123" not in json.dumps(delivery.as_json())


def test_the_server_backend_options_reach_every_executions_run_all(tmp_path: Path) -> None:
    request = ExecutionRequest(profile="p.yaml")

    argv = run_all_argv(
        request,
        tmp_path / "p.yaml",
        tmp_path / "events.jsonl",
        {"backend": "dask", "dask_scheduler": "tcp://10.0.0.1:8786"},
    )

    assert argv[argv.index("--backend") + 1] == "dask"
    assert argv[argv.index("--scheduler") + 1] == "tcp://10.0.0.1:8786"


def test_an_unquoted_on_key_in_the_profile_names_the_ends(tmp_path: Path) -> None:
    from qaagent.config.loader import load_profile

    profile = tmp_path / "qaagent.yaml"
    profile.write_text("notify:\n  - {url: 'https://hooks.example/x', on: [failed]}\n")

    [target] = load_profile(profile).profile.notify

    assert target.on == ["failed"]
