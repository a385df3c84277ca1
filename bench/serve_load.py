"""qaagent serve under load: 200 executions queued in one batch, followed by 20 SSE subscribers.

A real server on loopback runs a trivial profile (one command suite, `true`) at most four at
a time. Every subscriber follows every execution over SSE; each must see every execution's
events once, in order (seq 1, 2, …, n ending with run-finished). Meanwhile a sampler times
`GET /executions/{id}` and `GET /queue/stats`, and the server's process tree is measured for
its peak resident memory. Fails unless all complete, no event is lost or duplicated, and
each queue operation's p95 is under 100 ms.
"""

from __future__ import annotations

import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
from benchlib import QAAGENT, byte_compile_qaagent, write_profile

EXECUTIONS = 200
SUBSCRIBERS = 20
MAX_EXECUTIONS = 4
P95_LIMIT_SECONDS = 0.100
WAIT_SECONDS = 900.0
ENDED = {"passed", "failed", "error", "cancelled", "interrupted"}


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    """`qaagent serve` over the root, once its health endpoint answers."""
    argv = [QAAGENT, "serve", "--root", str(root), "--port", str(port)]
    server = subprocess.Popen(
        [*argv, "--max-executions", str(MAX_EXECUTIONS), "--drain-timeout", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    sys.exit("qaagent serve did not answer within 60 s")


class Subscriber(threading.Thread):
    """Follows every execution's SSE stream in turn and notes what was wrong with any."""

    def __init__(self, base: str, ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.ids = ids
        self.problems: list[str] = []
        self.events = 0

    def run(self) -> None:
        with httpx.Client(timeout=WAIT_SECONDS) as client:
            for execution_id in self.ids:
                seqs, kinds = self.follow(client, execution_id)
                self.events += len(seqs)
                if seqs != list(range(1, len(seqs) + 1)) or kinds[-1:] != ["run-finished"]:
                    self.problems.append(f"{execution_id}: seqs {seqs}")

    def follow(self, client: httpx.Client, execution_id: str) -> tuple[list[int], list[str]]:
        """The seqs and kinds of one execution's events, as its stream sent them."""
        seqs: list[int] = []
        kinds: list[str] = []
        url = f"{self.base}/executions/{execution_id}/events"
        with client.stream("GET", url) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line.removeprefix("data: "))
                    seqs.append(event["seq"])
                    kinds.append(event["kind"])
        return seqs, kinds


class Sampler(threading.Thread):
    """Times GET execution and GET queue stats, and the server tree's resident memory."""

    def __init__(self, base: str, ids: list[str], server: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.ids = ids
        self.server = server
        self.timings: dict[str, list[float]] = {"GET execution": [], "GET queue stats": []}
        self.peak_tree = 0
        self.peak_server = 0
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.done.is_set():
                self.time("GET execution", client, f"/executions/{random.choice(self.ids)}")
                self.time("GET queue stats", client, "/queue/stats")
                self.measure()
                self.done.wait(0.25)

    def time(self, name: str, client: httpx.Client, path: str) -> None:
        started = time.perf_counter()
        client.get(f"{self.base}{path}").raise_for_status()
        self.timings[name].append(time.perf_counter() - started)

    def measure(self) -> None:
        try:
            own = self.server.memory_info().rss
            tree = own + sum(
                child.memory_info().rss for child in self.server.children(recursive=True)
            )
        except psutil.Error:
            return
        self.peak_server = max(self.peak_server, own)
        self.peak_tree = max(self.peak_tree, tree)


def p95(values: list[float]) -> float:
    """The 95th percentile (the value itself when there is one)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    byte_compile_qaagent()
    with tempfile.TemporaryDirectory(prefix="qaagent-serve-load-") as folder:
        root = Path(folder)
        write_profile(root, {"noop": {"kind": "command", "command": "true"}}, {})
        port = free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        server = start_server(root, port)
        try:
            failures = run_load(base, psutil.Process(server.pid))
        finally:
            server.terminate()
            server.wait(60)
    sys.exit(1 if failures else 0)


def run_load(base: str, server: psutil.Process) -> list[str]:
    """Queue, follow and time; print the numbers; the reasons the run fails, if any."""
    batch = {"executions": [{"profile": "qaagent.yaml"} for _ in range(EXECUTIONS)]}
    started = time.perf_counter()
    answer = httpx.post(f"{base}/executions/batch", json=batch, timeout=60)
    post_seconds = time.perf_counter() - started
    answer.raise_for_status()
    ids = [execution["id"] for execution in answer.json()["executions"]]
    subscribers = [Subscriber(base, ids) for _ in range(SUBSCRIBERS)]
    sampler = Sampler(base, ids, server)
    for thread in [sampler, *subscribers]:
        thread.start()
    for subscriber in subscribers:
        subscriber.join(WAIT_SECONDS)
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    states = [httpx.get(f"{base}/executions/{key}", timeout=30).json()["state"] for key in ids]
    return report(post_seconds, wall, states, subscribers, sampler)


def report(
    post_seconds: float,
    wall: float,
    states: list[str],
    subscribers: list[Subscriber],
    sampler: Sampler,
) -> list[str]:
    """Print the measurements; what failed."""
    failures = []
    ended = sum(state in ENDED for state in states)
    passed = states.count("passed")
    print(
        f"executions: {EXECUTIONS} queued in one batch, {ended} ended ({passed} passed) in {wall:.1f} s"
    )
    print(f"subscribers: {SUBSCRIBERS}, events each: {sorted({s.events for s in subscribers})}")
    problems = [problem for subscriber in subscribers for problem in subscriber.problems]
    print(f"lost, duplicated or unordered events: {len(problems)}")
    print(f"POST batch of {EXECUTIONS}: {post_seconds * 1000:.1f} ms")
    for name, values in sampler.timings.items():
        print(f"{name}: p95 {p95(values) * 1000:.1f} ms over {len(values)} requests")
        if p95(values) > P95_LIMIT_SECONDS:
            failures.append(f"{name} p95 over {P95_LIMIT_SECONDS * 1000:.0f} ms")
    print(
        f"peak RSS: server {sampler.peak_server / 2**20:.0f} MiB, "
        f"server tree {sampler.peak_tree / 2**20:.0f} MiB"
    )
    if post_seconds > P95_LIMIT_SECONDS:
        failures.append(f"POST batch over {P95_LIMIT_SECONDS * 1000:.0f} ms")
    if ended != EXECUTIONS:
        failures.append(f"{EXECUTIONS - ended} executions did not end")
    if problems or len({s.events for s in subscribers}) != 1:
        failures.append("a subscriber lost or repeated events")
    for failure in failures:
        print(f"FAIL: {failure}")
    return failures


if __name__ == "__main__":
    main()
