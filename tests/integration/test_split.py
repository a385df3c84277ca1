"""`split: 3` with `split_mode: processes` on a real pytest suite: three shards on the timeline,
one suite in every report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from qaagent_process import environment
from test_run_all import checked_manifest, records, run_all, run_dirs

from qaagent.config.loader import load_profile
from qaagent.evidence.models import Manifest
from qaagent.plan.split import cached_collection
from qaagent.plan.tasks import build_tasks

FIXTURE = Path(__file__).parents[1] / "fixtures" / "split_project"
BROKEN = "tests/test_alpha.py::test_broken"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("split") / "project"
    shutil.copytree(FIXTURE, root)
    in_processes(root)
    return root


def in_processes(root: Path) -> None:
    """The profile's split suite runs one pytest process per shard."""
    profile = root / "qaagent.yaml"
    text = profile.read_text("utf-8")
    profile.write_text(text.replace("    split: 3\n", "    split: 3\n    split_mode: processes\n"))


@pytest.fixture(scope="module")
def first_run(project: Path) -> Path:
    completed = run_all(project, "--report", "all")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    return run_dirs(project)[-1]


def pytest_counts(project: Path) -> dict[str, int]:
    """pytest's own summary line of the whole suite, e.g. `1 failed, 12 passed, 1 skipped`."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    last = completed.stdout.strip().splitlines()[-1]
    return {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", last)}


def shard_node_ids(run_dir: Path, manifest: Manifest) -> list[set[str]]:
    """Node ids each shard ran in its first attempt, read from the shards' own JUnit files."""
    shards = []
    for junit in manifest.tasks[0].junit:
        if "attempt-1" in junit:
            tree = ElementTree.parse(run_dir / junit)
            shards.append(
                {
                    prop.get("value", "")
                    for prop in tree.iter("property")
                    if prop.get("name") == "nodeid"
                }
            )
    return shards


def test_three_shards_merge_into_one_task(first_run: Path) -> None:
    manifest = checked_manifest(first_run)
    assert [task.name for task in manifest.tasks] == ["unit"]
    segments = manifest.tasks[0].segments
    assert [segment.label for segment in segments] == [
        f"unit[shard={number}/3]" for number in (1, 2, 3)
    ]
    assert len({segment.worker for segment in segments}) == 3
    summary = json.loads((first_run / "reports" / "summary.json").read_text("utf-8"))
    assert [task["name"] for task in summary["tasks"]] == ["unit"]
    suites = list(ElementTree.parse(first_run / "reports" / "junit.xml").iter("testsuite"))
    assert [suite.get("name") for suite in suites] == ["unit"]


def test_counts_match_pytest_on_the_whole_suite(project: Path, first_run: Path) -> None:
    counts = checked_manifest(first_run).tasks[0].counts
    expected = pytest_counts(project)
    assert (counts.passed, counts.failed, counts.skipped) == (
        expected["passed"],
        expected["failed"],
        expected["skipped"],
    )


def test_every_test_runs_in_exactly_one_shard_with_groups_kept(first_run: Path) -> None:
    shards = shard_node_ids(first_run, checked_manifest(first_run))
    assert len(shards) == 3
    everything = [node_id for shard in shards for node_id in shard]
    assert len(everything) == len(set(everything)) == 14
    together = [
        {"tests/test_beta.py::test_users", "tests/test_beta.py::test_more_users"},
        {"tests/test_gamma.py::test_first_step", "tests/test_delta.py::test_second_step"},
    ]
    for group in together:
        assert any(group <= shard for shard in shards), group


def test_the_failing_test_is_retried_only_in_its_shard(first_run: Path) -> None:
    manifest = checked_manifest(first_run)
    assert sorted(attempt.number for attempt in manifest.tasks[0].attempts) == [1, 1, 1, 2]
    retried = {record.test_id for record in records(first_run) if record.attempt == 2}
    assert retried == {BROKEN}
    retried_shards = [junit for junit in manifest.tasks[0].junit if "attempt-2" in junit]
    assert len(retried_shards) == 1


def test_last_failed_reruns_exactly_the_failed_node_id(project: Path, first_run: Path) -> None:
    completed = run_all(project, "--last-failed")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    rerun = run_dirs(project)[-1]
    assert rerun != first_run
    manifest = checked_manifest(rerun)
    assert [task.name for task in manifest.tasks] == ["unit"]
    assert {record.test_id for record in records(rerun)} == {BROKEN}


class TimelineBars(HTMLParser):
    """The timeline bars of the HTML report: (task, label, lane index)."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[tuple[str, str]] = []
        self.lanes = 0
        self._in_bar: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if "lane" in classes:
            self.lanes += 1
        if "bar" in classes:
            self._in_bar = values.get("data-task") or ""

    def handle_data(self, data: str) -> None:
        if self._in_bar is not None and data.strip():
            self.bars.append((self._in_bar, f"{data.strip()}@{self.lanes}"))
            self._in_bar = None


def test_the_html_timeline_draws_each_shard_on_its_worker_lane(first_run: Path) -> None:
    parser = TimelineBars()
    parser.feed((first_run / "reports" / "report.html").read_text("utf-8"))
    assert {task for task, _ in parser.bars} == {"unit"}
    labels = sorted(label for _, label in parser.bars)
    assert [label.partition("@")[0] for label in labels] == [
        f"unit[shard={number}/3]" for number in (1, 2, 3)
    ]
    assert len({label.partition("@")[2] for label in labels}) == 3


def test_collection_is_reused_until_a_test_file_changes(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    task = build_tasks(load_profile(root / "qaagent.yaml").suites)[0]
    first, reused = cached_collection(task, environment(), tmp_path / "cache")
    assert not reused
    assert len(first) == 14
    beta = next(test for test in first if test.node_id == "tests/test_beta.py::test_users")
    assert beta.scopes == ("module",)
    serial = next(test for test in first if test.node_id.endswith("test_first_step"))
    assert "serial" in serial.markers
    assert cached_collection(task, environment(), tmp_path / "cache") == (first, True)
    (root / "tests" / "test_new.py").write_text("def test_new() -> None:\n    pass\n", "utf-8")
    again, reused = cached_collection(task, environment(), tmp_path / "cache")
    assert not reused
    assert "tests/test_new.py::test_new" in {test.node_id for test in again}
