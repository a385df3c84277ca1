"""The service's dashboard in Chromium, the `submit` and `executions` client, and notifications."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_serve
from qaagent_process import environment, qaagent
from test_reports_html import CHROMIUM, CHROMIUM_ARGS
from test_serve import Server, start_server

root = test_serve.root
server = test_serve.server
TOKEN = "dashboard-token-0123456789"
STEPS = """\
project: {name: steps}
tests:
  unit: {path: steps}
"""
STEPS_TESTS = """\
import time

import pytest


@pytest.mark.parametrize("step", range(4))
def test_step(step):
    time.sleep(0.3)


def test_waits():
    time.sleep(120)
"""


@pytest.fixture
def token_server(root: Path) -> Iterator[Server]:
    """A server whose every request wants the token, with the steps profile under its root."""
    (root / "steps").mkdir()
    (root / "steps" / "test_steps.py").write_text(STEPS_TESTS)
    (root / "steps.yaml").write_text(STEPS)
    running = start_server(root, "--max-executions", "2", token=TOKEN)
    yield running
    running.process.terminate()
    assert running.process.wait(60) == 0


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no Chromium at {CHROMIUM}")
def test_the_dashboard_shows_progress_cancels_reruns_failed_and_links_the_report(
    token_server: Server,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{token_server.url}/?token={TOKEN}")
        assert TOKEN not in page.url
        expect(page.locator("#status")).to_have_text("live")

        steps = token_server.submit("steps.yaml")
        quick = token_server.submit("quick.yaml")
        running = page.locator(f'#running tr[data-execution="{steps["id"]}"]')
        expect(running.locator(".tests")).to_have_text("4 / 5", timeout=60_000)
        assert float(running.locator("progress").get_attribute("value") or 0) > 0

        running.locator("button.cancel").click()
        expect(page.locator(f'#recent tr[data-execution="{steps["id"]}"]')).to_have_attribute(
            "data-state", "cancelled", timeout=60_000
        )
        failed = page.locator(f'#recent tr[data-execution="{quick["id"]}"]')
        expect(failed).to_have_attribute("data-state", "failed", timeout=60_000)
        report = failed.locator("a").get_attribute("href") or ""
        assert httpx.get(f"{token_server.url}{report}").text.startswith("<!")
        failed.locator("button.rerun").click()
        rerun = page.locator("#running tr, #queued tr, #recent tr").filter(has_text="quick.yaml")
        expect(rerun).to_have_count(2, timeout=60_000)
        browser.close()

    executions = token_server.get("/executions").json()["executions"]
    reruns = [item for item in executions if item["request"]["last_failed"]]
    assert [item["profile"] for item in reruns] == ["quick.yaml"]
    assert not problems


def test_the_event_streams_take_the_token_as_a_query_parameter(token_server: Server) -> None:
    streams = f"{token_server.url}/api/v1/events"

    assert httpx.get(f"{token_server.url}/api/v1/queue/stats?token={TOKEN}").status_code == 401
    with httpx.stream("GET", f"{streams}?token={TOKEN}", timeout=30) as response:
        assert response.status_code == 200
        first = next(line for line in response.iter_lines() if line.startswith("data: "))
    assert set(json.loads(first.removeprefix("data: "))) >= {"running", "queued", "resources"}
    with httpx.stream("GET", f"{streams}?token=wrong", timeout=30) as refused:
        assert refused.status_code == 401


def test_submit_follow_prints_progress_and_exits_with_the_executions_code(
    root: Path,
    server: Server,
) -> None:
    completed = qaagent(
        "submit", "--server", server.url, "--profile", "quick.yaml", "--follow", cwd=root
    )

    assert completed.returncode == 1, completed.stderr
    assert "test_fails" in completed.stdout
    assert "failed unit: 1 passed, 1 failed" in completed.stdout
    assert "/files/reports/report.html" in completed.stdout


def test_a_refused_submit_exits_2_with_the_servers_message(
    root: Path,
    server: Server,
) -> None:
    env = {**environment(), "QAAGENT_SERVER": server.url}

    completed = qaagent("submit", "--profile", "../outside.yaml", cwd=root, env=env)

    assert completed.returncode == 2
    assert "answered 422" in completed.stderr and "outside the server's root" in completed.stderr


def test_executions_cancel_stops_a_running_execution(
    root: Path,
    server: Server,
) -> None:
    slow = server.submit("slow.yaml")
    server.wait_until_testing(slow["id"])

    cancelled = qaagent("executions", "cancel", slow["id"], "--server", server.url, cwd=root)

    assert cancelled.returncode == 0, cancelled.stderr
    assert server.wait_for(slow["id"], "cancelled")["exit_code"] == 130
    listed = qaagent("executions", "list", "--json", "--server", server.url, cwd=root)
    assert [item["state"] for item in json.loads(listed.stdout)] == ["cancelled"]


class Receiver(BaseHTTPRequestHandler):
    """A web hook that answers 500 to its first POST and 200 to the rest, keeping the bodies."""

    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(500 if len(self.bodies) == 1 else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local web hook's URL and the bodies POSTed to it."""
    bodies: list[dict[str, Any]] = []
    handler = type("Hook", (Receiver,), {"bodies": bodies})
    hook = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{hook.server_address[1]}/hook", bodies
    hook.shutdown()
    hook.server_close()


def test_a_notification_posts_the_summary_and_is_retried_after_a_500(
    root: Path,
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    url, bodies = receiver
    profile = (root / "quick.yaml").read_text() + f"notify:\n  - {{url: '{url}', on: [failed]}}\n"
    (root / "hooked.yaml").write_text(profile)
    running = start_server(root)
    try:
        queued = running.submit("hooked.yaml", labels=["nightly"])
        running.wait_for(queued["id"], "failed")
        deadline = 60
        while not running.execution(queued["id"])["notifications"] and deadline:
            deadline -= 1
            threading.Event().wait(0.5)
        execution = running.execution(queued["id"])
    finally:
        running.process.terminate()
        assert running.process.wait(60) == 0

    assert execution["notifications"] == [{"url": url, "status": 200, "attempts": 2, "error": None}]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    body = bodies[1]
    assert (body["execution_id"], body["state"], body["labels"]) == (
        queued["id"],
        "failed",
        ["nightly"],
    )
    assert body["summary"]["counts"] == execution["counts"]
