"""Big report: one command suite with 50,000 failing tests; qaagent's peak memory and report.html.

Reports the size of report.html, how long headless Chromium takes to load it, and the peak
resident memory of `qaagent run-all` (from `/usr/bin/time -v`).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import QAAGENT, byte_compile_qaagent, fresh, write_profile

FAILURES = 50_000
CHROMIUM = "/usr/bin/chromium"
TARGET_OPEN_S, TARGET_MB = 3.0, 400.0
MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")

WRITER = """\
import os, sys
cases = "".join(
    f'<testcase classname="big" name="test_{i}" time="0.001">'
    f'<failure message="assert {i} == -1">AssertionError: assert {i} == -1\\n'
    f'where {i} = compute({i})</failure><system-out>case {i} output</system-out></testcase>'
    for i in range({failures})
)
with open(os.environ["QAAGENT_JUNIT"], "w", encoding="utf-8") as stream:
    stream.write(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="big" '
        'tests="{failures}" failures="{failures}">' + cases + "</testsuite></testsuites>"
    )
sys.exit(1)
"""


def peak_run(profile: Path) -> float:
    """Peak resident memory of one `qaagent run-all` in MB; the run fails, as its tests do."""
    byte_compile_qaagent()
    completed = subprocess.run(
        ["/usr/bin/time", "-v", QAAGENT, "run-all", "--config", str(profile)],
        cwd=profile.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    match = MAX_RSS.search(completed.stderr)
    if completed.returncode != 1 or match is None:
        sys.exit(f"qaagent run-all exited {completed.returncode}:\n{completed.stderr[-4000:]}")
    return int(match.group(1)) / 1024


def open_seconds(page: Path) -> float:
    """Seconds headless Chromium takes to load a page until its `load` event."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page()
        tab.goto("about:blank")
        started = time.perf_counter()
        tab.goto(page.as_uri(), wait_until="load", timeout=300_000)
        elapsed = time.perf_counter() - started
        browser.close()
    return elapsed


def main() -> None:
    """Print the report's size and load time and qaagent's peak memory against their targets."""
    root = fresh(Path(tempfile.gettempdir()) / "qaagent-bench-big-report")
    writer = root / "write_junit.py"
    writer.write_text(WRITER.replace("{failures}", str(FAILURES)), encoding="utf-8")
    suites = {"big": {"kind": "command", "command": [sys.executable, str(writer)]}}
    profile = write_profile(root, suites, {"parallel": False})
    peak_mb = peak_run(profile)
    page = root / ".qaagent" / "runs" / "latest" / "reports" / "report.html"
    seconds = open_seconds(page)
    size_mb = page.stat().st_size / 1e6
    verdict = "within" if seconds <= TARGET_OPEN_S and peak_mb <= TARGET_MB else "OVER"
    print(
        f"big report: {FAILURES} failures, report.html {size_mb:.2f} MB opens in {seconds:.2f} s, "
        f"qaagent peak memory {peak_mb:.0f} MB ({verdict} targets {TARGET_OPEN_S:g} s, "
        f"{TARGET_MB:g} MB)"
    )


if __name__ == "__main__":
    main()
