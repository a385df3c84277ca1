"""Secret values masked in text, bytes, nested data, streamed chunks and files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from qaagent.evidence.redact import mask_results, scrub_text_files
from qaagent.model.outcomes import CaseStatus, TaskOutcome, TestCase
from qaagent.model.results import Attempt, TaskResult
from qaagent.secrets import SecretValues

TOKEN = "ghp_abcdef123456"


def streamed(secrets: SecretValues, chunks: list[bytes]) -> bytes:
    masker = secrets.stream()
    return b"".join(masker.feed(chunk) for chunk in chunks) + masker.flush()


def test_values_are_masked_wherever_they_occur() -> None:
    secrets = SecretValues([TOKEN, "hunter22"])
    assert secrets.mask(f"Bearer {TOKEN}; pw=hunter22 {TOKEN}") == "Bearer ***; pw=*** ***"
    assert secrets.mask_bytes(f"x{TOKEN}x".encode()) == b"x***x"


def test_values_shorter_than_four_characters_are_not_masked() -> None:
    secrets = SecretValues(["abc", "", "abcd"])
    assert secrets.mask("abc abcd") == "abc ***"
    assert not SecretValues(["no", "1"])


def test_overlapping_and_nested_values_leave_no_part_in_clear() -> None:
    secrets = SecretValues(["abcdef", "defghi", "bcd"])
    assert secrets.mask("<abcdefghi>") == "<***>"
    assert SecretValues(["pass", "password1"]).mask("password1 pass") == "*** ***"


def test_each_line_of_a_multiline_value_is_masked_on_its_own() -> None:
    secrets = SecretValues(["-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----"])
    assert secrets.mask("line: MIIEvQIBADANBg") == "line: ***"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_a_value_split_across_chunks_is_still_masked(size: int) -> None:
    secrets = SecretValues([TOKEN, "hunter22"])
    data = f"start {TOKEN} middle hunter22{TOKEN} end\nhunt".encode()
    chunks = [data[index : index + size] for index in range(0, len(data), size)]
    assert streamed(secrets, chunks) == b"start *** middle ****** end\nhunt"


def test_a_stream_holds_back_only_what_a_secret_could_still_span() -> None:
    masker = SecretValues(["abcdef"]).stream()
    assert masker.feed(b"0123456789") == b"0123456789"
    assert masker.feed(b"xyab") == b"xy"
    assert masker.feed(b"c") == b""
    assert not masker.found
    assert masker.feed(b"def!") == b"***!"
    assert masker.found
    assert masker.feed(b"abx") == b"abx"
    assert masker.feed(b"ab") == b""
    assert masker.flush() == b"ab"


def test_without_secrets_a_stream_passes_chunks_through() -> None:
    masker = SecretValues([]).stream()
    assert masker.feed(b"abc") == b"abc"
    assert masker.flush() == b""


def test_secrets_come_from_secret_looking_names_and_listed_names() -> None:
    secrets = SecretValues.from_environments(
        [{"API_TOKEN": "t0k3n-value", "HOME": "/home/me"}, {"hook_url": "https://x/y"}],
        ["hook_url"],
    )
    assert sorted(secrets.texts) == ["https://x/y", "t0k3n-value"]


def test_results_are_masked_in_every_text_they_hold(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    case = TestCase(
        id="t", name="t", status=CaseStatus.failed, message=f"Bearer {TOKEN}", output=TOKEN
    )
    result = TaskResult(
        task="api",
        suite="api",
        kind="command",
        outcome=TaskOutcome.failed,
        cases=[case],
        attempts=[
            Attempt(
                number=1,
                command=["curl", "-H", f"Authorization: Bearer {TOKEN}"],
                started_at=now,
                finished_at=now,
                cases=[case],
                error=f"could not start {TOKEN}",
                log_path=tmp_path / "output.log",
            )
        ],
        error=f"could not start {TOKEN}",
        tail=[f"echo {TOKEN}"],
        log_path=tmp_path / "output.log",
        started_at=now,
        finished_at=now,
    )
    (masked,) = mask_results([result], SecretValues([TOKEN]))
    assert TOKEN not in masked.model_dump_json()
    assert masked.attempts[0].command[-1] == "Authorization: Bearer ***"
    assert masked.cases[0].message == "Bearer ***"
    assert masked.log_path == result.log_path
    assert masked.started_at == result.started_at


def test_text_files_are_scrubbed_as_written_or_xml_escaped(tmp_path: Path) -> None:
    junit = tmp_path / "task" / "junit.xml"
    junit.parent.mkdir()
    junit.write_text('<failure message="a&amp;b-secret">a&amp;b-secret</failure>')
    untouched = tmp_path / "task" / "clean.xml"
    untouched.write_text("<ok/>")
    before = untouched.stat().st_mtime_ns
    image = tmp_path / "task" / "shot.png"
    image.write_bytes(b"a&b-secret")
    scrub_text_files(tmp_path, SecretValues(["a&b-secret"]))
    assert junit.read_text() == '<failure message="***">***</failure>'
    assert untouched.stat().st_mtime_ns == before
    assert image.read_bytes() == b"a&b-secret"
    assert sorted(path.name for path in junit.parent.iterdir()) == [
        "clean.xml",
        "junit.xml",
        "shot.png",
    ]
