"""Caching: a second run of the example shop, every suite cached, against the first run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import QAAGENT, byte_compile_qaagent, fresh, ratio_line

EXAMPLE = Path(__file__).parents[1] / "examples" / "shop"
TARGET = 0.15


def free_port() -> int:
    """A port nothing listens on now, for the shop's app."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cached_copy(folder: Path) -> Path:
    """The example in `folder`, its profile with `run: {cache: true}` and a free port."""
    root = folder / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qaagent", "__pycache__"))
    profile = root / "qaagent.yaml"
    text = profile.read_text(encoding="utf-8").replace("8765", str(free_port()))
    profile.write_text(text.replace("\nrun:\n", "\nrun:\n  cache: true\n"), encoding="utf-8")
    return root


def timed_run(root: Path) -> float:
    """Wall time of `qaagent run-all` in the example, which must pass."""
    env = {
        **os.environ,
        "CI": "true",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    started = time.perf_counter()
    completed = subprocess.run(
        [QAAGENT, "run-all"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(
            f"the example failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )
    return elapsed


def main() -> None:
    """Print the cached run's wall time against the first run's."""
    byte_compile_qaagent()
    root = cached_copy(fresh(Path(tempfile.gettempdir()) / "qaagent-bench-cache"))
    first = timed_run(root)
    second = timed_run(root)
    print(ratio_line("cache", second, first, "first run", TARGET))


if __name__ == "__main__":
    main()
