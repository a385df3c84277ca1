"""`qaagent serve` as a client meets it: a real server on a free port, over HTTP, SSE and WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import websockets
from qaagent_process import environment, qaagent
from test_example import EXAMPLE, EXPECTED_PASSED
from test_run_all import processes_left

WAIT_SECONDS = 60.0
QUICK = """\
project: {name: quick}
tests:
  unit: {path: tests}
"""
SLOW = """\
project: {name: slow}
tests:
  unit: {path: slow}
"""
QUICK_TESTS = """\
def test_passes():
    assert True


def test_fails():
    assert 1 == 2
"""
SLOW_TESTS = """\
import time


def test_sleeps():
    time.sleep(120)
"""


@dataclass
class Server:
    """A running `qaagent serve` and how to reach it."""

    process: subprocess.Popen[bytes]
    url: str
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.url}/api/v1{path}", headers=self.headers, timeout=10, **kwargs)

    def submit(self, profile: str, **fields: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/api/v1/executions",
            json={"profile": profile, **fields},
            headers=self.headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def execution(self, execution_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.get(f"/executions/{execution_id}").json()
        return body

    def wait_for(self, execution_id: str, *states: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while (record := self.execution(execution_id))["state"] not in states:
            assert time.monotonic() < deadline, record
            time.sleep(0.2)
        return record

    def wait_until_testing(self, execution_id: str) -> None:
        """Until the execution's test has started, so that stopping it interrupts a test."""
        deadline = time.monotonic() + WAIT_SECONDS
        while self.get(f"/executions/{execution_id}/progress").json()["tests_total"] is None:
            assert time.monotonic() < deadline, self.execution(execution_id)
            time.sleep(0.2)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A root folder with a quick and a slow pytest profile; no process of theirs may survive."""
    folder = tmp_path / "root"
    (folder / "tests").mkdir(parents=True)
    (folder / "slow").mkdir()
    (folder / "quick.yaml").write_text(QUICK)
    (folder / "slow.yaml").write_text(SLOW)
    (folder / "tests" / "test_quick.py").write_text(QUICK_TESTS)
    (folder / "slow" / "test_slow.py").write_text(SLOW_TESTS)
    yield folder
    survivors = processes_left(folder, seconds=10)
    for process in survivors:
        with contextlib.suppress(psutil.Error):
            process.kill()
    assert not survivors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    root: Path, *options: str, host: str = "127.0.0.1", token: str | None = None
) -> Server:
    """`qaagent serve` on a free port, once its health endpoint answers."""
    port = free_port()
    env = environment()
    if token is not None:
        env["QAAGENT_SERVE_TOKEN"] = token
    log = (root.parent / "server.log").open("ab")
    argv = [sys.executable, "-m", "qaagent", "serve", "--root", str(root), "--host", host]
    process = subprocess.Popen(
        [*argv, "--port", str(port), "--drain-timeout", "1", *options],
        cwd=root.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, f"http://127.0.0.1:{port}", token)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        assert process.poll() is None, (root.parent / "server.log").read_text()
        with contextlib.suppress(httpx.HTTPError):
            if server.get("/health").status_code == 200:
                return server
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.fixture
def server(root: Path) -> Iterator[Server]:
    """A server over the root, stopped by SIGTERM after the test; it must exit 0."""
    running = start_server(root, "--max-executions", "1")
    yield running
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(WAIT_SECONDS) == 0


def server_sent_events(server: Server, execution_id: str, after: int = 0) -> list[dict[str, Any]]:
    """Every event of the execution over SSE, until the stream ends with the execution."""
    headers = {**server.headers, "Last-Event-ID": str(after)} if after else server.headers
    events = []
    url = f"{server.url}/api/v1/executions/{execution_id}/events"
    with httpx.stream("GET", url, headers=headers, timeout=WAIT_SECONDS) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frame: dict[str, str] = {}
        for line in response.iter_lines():
            if not line:
                assert frame["id"] == str(json.loads(frame["data"])["seq"])
                events.append(json.loads(frame["data"]))
                frame = {}
                continue
            field, _, value = line.partition(": ")
            frame[field] = value
    return events


def run_all_counts(root: Path, profile: str) -> dict[str, int]:
    """The counts `qaagent run-all --json` gives for the same profile."""
    completed = qaagent("run-all", "--config", profile, "--json", cwd=root)
    counts: dict[str, int] = json.loads(completed.stdout)["counts"]
    return counts


def test_an_execution_followed_over_sse_ends_with_the_counts_of_run_all(
    root: Path, server: Server
) -> None:
    queued = server.submit("quick.yaml", labels=["nightly"])
    assert queued["state"] == "queued"

    events = server_sent_events(server, queued["id"])

    assert events[0]["kind"] == "planned" and events[-1]["kind"] == "run-finished"
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    finished = server.execution(queued["id"])
    assert finished["state"] == "failed" and finished["exit_code"] == 1
    assert finished["counts"] == run_all_counts(root, "quick.yaml")
    assert server.get(f"/executions/{queued['id']}/results").json()["counts"] == finished["counts"]
    progress = server.get(f"/executions/{queued['id']}/progress").json()
    assert progress["percent"] == 100.0 and progress["tests_done"] == progress["tests_total"] == 2
    replayed = server_sent_events(server, queued["id"], after=len(events) - 2)
    assert replayed == events[-2:]
    manifest = server.get(f"/executions/{queued['id']}/files/manifest.json").json()
    assert manifest["status"] == "failed"
    assert server.get(f"/executions/{queued['id']}/files/%2e%2e/quick.yaml").status_code == 404
    labelled = server.get("/executions", params={"label": "nightly", "state": "failed"}).json()
    assert [execution["id"] for execution in labelled["executions"]] == [queued["id"]]
    stats = server.get("/queue/stats").json()
    assert stats["counts"]["failed"] == 1 and stats["run_seconds"]["p50"] > 0


def test_an_execution_followed_over_the_websocket_with_the_resources(
    root: Path, server: Server
) -> None:
    queued = server.submit("quick.yaml")

    async def follow() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        url = server.url.replace("http", "ws") + "/ws"
        events: list[dict[str, Any]] = []
        resources: list[dict[str, Any]] = []
        async with websockets.connect(url) as socket_:
            await socket_.send(json.dumps({"subscribe": "nope"}))
            refusal = json.loads(await asyncio.wait_for(socket_.recv(), WAIT_SECONDS))
            assert refusal == {"error": "no execution 'nope' to subscribe to"}
            await socket_.send(json.dumps({"subscribe": queued["id"]}))
            await socket_.send(json.dumps({"subscribe": "system-resources"}))
            while not events or events[-1]["kind"] != "run-finished" or not resources:
                message = json.loads(await asyncio.wait_for(socket_.recv(), WAIT_SECONDS))
                (resources if message["kind"] == "system-resources" else events).append(message)
        return events, resources

    events, resources = asyncio.run(follow())

    assert {event["execution"] for event in events} == {queued["id"]}
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    finished = [event for event in events if event["kind"] == "run-finished"]
    assert finished[0]["exit_code"] == 1
    assert resources[0]["memory"]["total"] > 0


def test_cancelling_a_running_execution_leaves_an_interrupted_bundle_and_no_process(
    root: Path, server: Server
) -> None:
    running = server.submit("slow.yaml")
    waiting = server.submit("quick.yaml")
    server.wait_until_testing(running["id"])

    assert server.get(f"/executions/{waiting['id']}").json()["state"] == "queued"
    cancelled_waiting = httpx.delete(f"{server.url}/api/v1/executions/{waiting['id']}")
    assert cancelled_waiting.json()["state"] == "cancelled"
    httpx.delete(f"{server.url}/api/v1/executions/{running['id']}")
    cancelled = server.wait_for(running["id"], "cancelled")

    assert processes_left(root, seconds=10) == []
    assert cancelled["exit_code"] == 130
    manifest = json.loads((Path(cancelled["run_dir"]) / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert server.execution(waiting["id"])["run_dir"] is None


def test_an_execution_over_its_memory_limit_is_killed_and_names_the_limit(
    root: Path, server: Server
) -> None:
    limits = {"memory_mb": 1, "cpu_percent": 50}
    queued = server.submit("slow.yaml", configuration={"resource_limits": limits})

    ended = server.wait_for(queued["id"], "error")

    assert "resource_limits.memory_mb of 1" in ended["error"]
    assert "cpu_percent 50.0 is advisory" in ended["notes"][0]
    assert processes_left(root, seconds=10) == []


def test_a_killed_server_keeps_its_queue_and_marks_the_running_execution_interrupted(
    root: Path,
) -> None:
    first = start_server(root, "--max-executions", "1")
    running = first.submit("slow.yaml", priority="critical")
    queued = [first.submit("quick.yaml", priority="low") for _ in range(2)]
    first.wait_until_testing(running["id"])

    first.process.kill()
    first.process.wait(WAIT_SECONDS)
    assert processes_left(root, seconds=30) == []
    second = start_server(root, "--max-executions", "1")
    try:
        ended = [second.wait_for(item["id"], "failed") for item in queued]
        interrupted = second.execution(running["id"])
    finally:
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(WAIT_SECONDS) == 0

    assert [execution["counts"]["failed"] for execution in ended] == [1, 1]
    assert interrupted["state"] == "interrupted", interrupted
    manifest = json.loads((Path(interrupted["run_dir"]) / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"


def test_sigterm_stops_a_running_execution_past_the_drain_timeout_and_exits_0(
    root: Path,
) -> None:
    server = start_server(root)
    running = server.submit("slow.yaml")
    server.wait_until_testing(running["id"])

    server.process.send_signal(signal.SIGTERM)

    assert server.process.wait(WAIT_SECONDS) == 0
    assert processes_left(root, seconds=10) == []
    restarted = start_server(root)
    try:
        record = restarted.execution(running["id"])
    finally:
        restarted.process.send_signal(signal.SIGTERM)
        assert restarted.process.wait(WAIT_SECONDS) == 0
    assert record["state"] == "interrupted"
    manifest = json.loads((Path(record["run_dir"]) / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"


def test_a_server_bound_beyond_loopback_wants_its_token_everywhere(root: Path) -> None:
    server = start_server(root, host="0.0.0.0", token="s3cret-token")

    try:
        refused = httpx.get(f"{server.url}/api/v1/health")
        accepted = server.get("/health")
        schema_refused = httpx.get(f"{server.url}/openapi.json")
        schema = httpx.get(f"{server.url}/openapi.json", headers=server.headers)

        async def refused_websocket() -> int:
            with pytest.raises(websockets.InvalidStatus) as error:
                async with websockets.connect(server.url.replace("http", "ws") + "/ws"):
                    pass
            return error.value.response.status_code

        websocket_status = asyncio.run(refused_websocket())
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(WAIT_SECONDS) == 0

    assert refused.status_code == 401
    assert "Authorization: Bearer" in refused.json()["error"]
    assert accepted.status_code == 200
    assert schema_refused.status_code == 401
    assert "/api/v1/executions" in schema.json()["paths"]
    assert websocket_status == 401


def test_a_batch_waits_most_urgent_first_behind_the_running_execution(
    root: Path, server: Server
) -> None:
    running = server.submit("slow.yaml")
    server.wait_until_testing(running["id"])
    batch = httpx.post(
        f"{server.url}/api/v1/executions/batch",
        json={
            "executions": [
                {"profile": "quick.yaml", "priority": "low"},
                {"profile": "quick.yaml", "priority": "critical"},
                {"profile": "quick.yaml", "priority": 60},
            ]
        },
        timeout=10,
    )
    low, critical, sixty = (item["id"] for item in batch.json()["executions"])

    shown = server.get("/executions/active").json()["executions"]
    active = [item["id"] for item in shown]
    for execution_id in (low, critical, sixty, running["id"]):
        httpx.delete(f"{server.url}/api/v1/executions/{execution_id}")
    server.wait_for(running["id"], "cancelled")

    assert batch.status_code == 201
    assert active == [running["id"], critical, sixty, low], shown


def test_a_second_server_on_the_same_data_folder_or_port_is_refused(
    root: Path, server: Server
) -> None:
    same_data = qaagent("serve", "--root", str(root), "--port", str(free_port()), cwd=root.parent)
    port = server.url.rsplit(":", 1)[1]
    same_port = qaagent("serve", "--root", str(root), "--data", "other", "--port", port, cwd=root)

    assert same_data.returncode == 2
    assert "another qaagent serve uses the data folder" in same_data.stderr
    assert same_port.returncode == 2
    assert f"--port {port}: cannot listen there" in same_port.stderr
    assert "Traceback" not in same_data.stderr + same_port.stderr


def test_a_profile_outside_the_root_and_a_bad_priority_are_422_naming_them(
    root: Path, server: Server
) -> None:
    (root.parent / "outside.yaml").write_text(QUICK)
    outside = httpx.post(
        f"{server.url}/api/v1/executions", json={"profile": "../outside.yaml"}, timeout=10
    )
    bad_priority = httpx.post(
        f"{server.url}/api/v1/executions",
        json={"profile": "quick.yaml", "priority": "urgent"},
        timeout=10,
    )
    unknown = server.get("/executions/nope")
    half_bad_batch = httpx.post(
        f"{server.url}/api/v1/executions/batch",
        json={"executions": [{"profile": "quick.yaml"}, {"profile": "/etc/passwd"}]},
        timeout=10,
    )

    assert outside.status_code == 422
    assert "'../outside.yaml'" in outside.json()["error"]
    assert "outside the server's root" in outside.json()["error"]
    assert bad_priority.status_code == 422 and "priority" in bad_priority.json()["error"]
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]
    assert half_bad_batch.status_code == 422 and "/etc/passwd" in half_bad_batch.json()["error"]
    assert server.get("/executions").json()["executions"] == []


def test_the_bundled_example_followed_over_sse_and_websocket_counts_as_run_all_does(
    tmp_path: Path,
) -> None:
    shop = tmp_path / "root" / "shop"
    shutil.copytree(EXAMPLE, shop, ignore=shutil.ignore_patterns(".qaagent", "__pycache__"))
    profile = shop / "qaagent.yaml"
    profile.write_text(profile.read_text().replace("8765", str(free_port())), encoding="utf-8")
    server = start_server(shop.parent, "--max-executions", "1")
    try:
        queued = server.submit("shop/qaagent.yaml")

        async def over_the_websocket() -> list[dict[str, Any]]:
            events: list[dict[str, Any]] = []
            async with websockets.connect(server.url.replace("http", "ws") + "/ws") as socket_:
                await socket_.send(json.dumps({"subscribe": queued["id"]}))
                while not events or events[-1]["kind"] != "run-finished":
                    message = json.loads(await asyncio.wait_for(socket_.recv(), 300))
                    if message["kind"] != "system-resources":
                        events.append(message)
            return events

        streamed = asyncio.run(over_the_websocket())
        sent = server_sent_events(server, queued["id"])
        finished = server.wait_for(queued["id"], "passed", "failed", "error")
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(WAIT_SECONDS)
    assert [event["seq"] for event in sent] == [event["seq"] for event in streamed]
    live = Counter(
        event["task"]
        for event in sent
        if event["kind"] == "test-finished" and event["outcome"] == "passed"
    )
    assert live == EXPECTED_PASSED
    assert finished["state"] == "passed"
    assert finished["counts"] == run_all_counts(shop, "qaagent.yaml")
    assert finished["counts"]["passed"] == sum(EXPECTED_PASSED.values())
    assert not processes_left(shop, seconds=10), "the app or a suite outlived the execution"
