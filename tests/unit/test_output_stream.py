"""Output read in blocks: secrets masked across block ends, the tail, and sampled lines."""

from __future__ import annotations

from qaagent.processes.run import MAX_LINE_BYTES, READ_CHUNK, LineSampler, TailBuffer
from qaagent.secrets import SecretValues

SECRET = "hunter2-the-secret"


def blocks_of(data: bytes, size: int = READ_CHUNK) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_secret_spanning_a_block_boundary_is_masked() -> None:
    data = b"x" * (READ_CHUNK - 14) + b"\ntoken=" + SECRET.encode() + b" end\n"
    assert data.index(SECRET.encode()) == READ_CHUNK - 7
    masker = SecretValues([SECRET]).stream()
    tail = TailBuffer()

    masked = b""
    for block in blocks_of(data):
        assert len(block) <= READ_CHUNK
        safe = masker.feed(block)
        tail.feed(safe)
        masked += safe
    rest = masker.flush()
    tail.feed(rest)
    tail.close()
    masked += rest

    assert SECRET.encode() not in masked
    assert masked.endswith(b"\ntoken=*** end\n")
    assert list(tail.lines)[-1] == "token=*** end"


def test_the_tail_keeps_the_last_lines_of_blocks_that_split_lines() -> None:
    data = b"".join(f"line {index}\n".encode() for index in range(100_000))
    tail = TailBuffer(size=50)

    for block in blocks_of(data, 4096):
        tail.feed(block)
    tail.close()

    assert list(tail.lines) == [f"line {index}" for index in range(99_950, 100_000)]


def test_a_line_longer_than_the_limit_is_cut_and_an_unfinished_last_line_kept() -> None:
    tail = TailBuffer()

    tail.feed(b"a" * (MAX_LINE_BYTES + 10))
    tail.feed(b"\nlast")
    tail.close()

    assert list(tail.lines) == ["a" * MAX_LINE_BYTES, "", "last"]


def test_lines_are_sampled_after_a_burst_and_the_newest_is_never_lost() -> None:
    clock, seen = Clock(), []
    sampler = LineSampler(seen.append, rate=10, clock=clock)

    sampler.offer([f"early {index}" for index in range(4)])
    sampler.offer([f"line {index}" for index in range(1000)])
    sampler.offer(["newest"])
    sampler.release()
    clock.now = 0.05
    sampler.release()
    clock.now = 0.1
    sampler.release()
    sampler.release()

    assert seen == [f"early {index}" for index in range(4)] + [
        f"line {index}" for index in range(994, 1000)
    ] + ["newest"]


def test_the_newest_line_held_back_is_handed_on_when_the_output_ends() -> None:
    clock, seen = Clock(), []
    tail = TailBuffer(seen.append)
    tail.sampler = LineSampler(seen.append, rate=1, clock=clock)

    tail.feed(b"first\nsecond\nthird")
    tail.close()

    assert seen == ["second", "third"]
    assert list(tail.lines) == ["first", "second", "third"]
