"""Loaded into pytest with `-p` beside `qaagent_pytest`: run the parts of a split suite in child
processes forked from one pytest, so N parts pay one start-up.

QAAGENT_PYTEST_FORK names a JSON file: `folder` (where each part writes `part-<n>/junit.xml`,
`output.log`, `feed.jsonl` and, forked before collection, `collection.json`), `labels` (one per
part), `parts` (node ids per part, or null), `groups` (node ids that must share a process), and
`timeout` (seconds a part may run).

With `parts`, the children are forked before collection, once pytest and the project's plugins
are imported, and each collects only the test files its share needs, so collection is shared
out too. Each keeps its listed tests; a test listed nowhere (added since qaagent listed them)
goes to the part that owns its file: the one with most of the file's listed tests, or, for a new
file, one chosen from its path alone, so every child decides alike and each test runs once.
Without `parts`, the parent collects once and forks after collection, and children take whole
groups from the parent as they free up (work stealing over a pipe). The parent never runs a
test: it waits, kills a part that outlives its timeout, writes every part's cases into its own
JUnit XML (a killed or crashed part's from its feed), `parts.json` with how each part ended, and
fails when any part failed. Both the parent and a part forked before collection exit as soon
as every plugin has finished, without the interpreter's teardown.

Forking is unsafe with threads alive in the parent; the parts then start after collection as
separate pytest processes (each collects again) with the same files. Like `qaagent_pytest`, this
imports only the standard library and pytest.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _pytest.pathlib import fnmatch_ex

FORK_VARIABLE = "QAAGENT_PYTEST_FORK"
SELECT_VARIABLE = "QAAGENT_PYTEST_SELECT"
FEED_VARIABLE = "QAAGENT_EVENTS"
PARTS_FILE = "parts.json"
COLLECTION_FILE = "collection.json"
POLL_SECONDS = 0.02
CRASH_EXIT = 3
TIMED_OUT_EXIT = 1
_FORKED_EARLY = pytest.StashKey[bool]()
_LEAVE_WITH = pytest.StashKey[int]()


@dataclass
class Part:
    """One child: what it runs, where it writes, and how it ended."""

    number: int
    label: str
    folder: Path
    items: list[pytest.Item] = field(default_factory=list)
    pid: int = 0
    started: float = 0.0
    finished: float = 0.0
    started_at: float = 0.0
    exit_code: int | None = None
    ending: str = "exited"
    requests: int = -1
    replies: int = -1
    exits: int = -1

    @property
    def junit(self) -> Path:
        """The part's own JUnit XML."""
        return self.folder / "junit.xml"

    @property
    def feed(self) -> Path:
        """The part's own live feed, read when the part never wrote its JUnit XML."""
        return self.folder / "feed.jsonl"

    @property
    def log(self) -> Path:
        """Where the part's stdout and stderr go."""
        return self.folder / "output.log"


def _spec() -> dict[str, Any] | None:
    """The fork request, when qaagent made one."""
    path = os.environ.get(FORK_VARIABLE)
    if not path:
        return None
    loaded: dict[str, Any] = json.loads(Path(path).read_text("utf-8"))
    return loaded


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> object:
    """Fork the parts with fixed shares before collection, and wait for them instead of it."""
    spec = _spec()
    if spec is None or spec.get("parts") is None or not _may_fork(session.config):
        return None
    if threading.active_count() > 1:
        return None
    shares = Shares(spec["parts"])
    parts = _new_parts(spec)
    junit = _divert_parent_junit(session.config, Path(spec["folder"]))
    for part in parts:
        part.folder.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    previous = signal.signal(signal.SIGTERM, lambda *_: _kill_all(parts))
    try:
        for index, part in enumerate(parts):
            part.started, part.started_at = time.monotonic(), time.time()
            part.pid = os.fork()
            if part.pid == 0:
                _become_early_child(session, part, PartShare(shares, index))
                return None
        _supervise(parts, None, spec.get("timeout"))
    finally:
        signal.signal(signal.SIGTERM, previous)
    _finish(session, parts, Path(spec["folder"]), junit)
    session.config.stash[_FORKED_EARLY] = True
    return True


def _may_fork(config: pytest.Config) -> bool:
    """Whether this pytest is the one qaagent started to run the parts, on a system that forks.

    Under pytest-xdist (`-n`) its workers run the tests, so the suite runs whole, as xdist
    shares it out.
    """
    collect_only = config.option.collectonly
    under_xdist = bool(getattr(config.option, "numprocesses", None))
    return (
        hasattr(os, "fork")
        and not collect_only
        and not under_xdist
        and not hasattr(config, "workerinput")
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> object:
    """Run the parts in children and wait for them; pytest's own loop runs when not asked to."""
    config = session.config
    if config.stash.get(_FORKED_EARLY, False):
        return True
    spec = _spec()
    if spec is None or not _may_fork(config):
        return None
    if session.testsfailed and not config.option.continue_on_collection_errors:
        return None
    parts = _parts(session, spec)
    safe = threading.active_count() == 1
    if not safe:
        sys.stderr.write("qaagent: threads are alive after collection; parts run as processes\n")
    groups = None if spec.get("parts") is not None else _groups(session, spec)
    if groups is not None and not safe:
        _share_out(groups, parts)
        groups = None
    for part in parts:
        part.folder.mkdir(parents=True, exist_ok=True)
    junit = _divert_parent_junit(config, Path(spec["folder"]))
    sys.stdout.flush()
    sys.stderr.flush()
    previous = signal.signal(signal.SIGTERM, lambda *_: _kill_all(parts))
    try:
        if safe:
            _fork_all(session, parts, groups)
        else:
            _spawn_all(config, parts)
        _supervise(parts, groups, spec.get("timeout"))
    finally:
        signal.signal(signal.SIGTERM, previous)
    _finish(session, parts, Path(spec["folder"]), junit)
    return True


def _new_parts(spec: dict[str, Any]) -> list[Part]:
    """One part per label, each writing in a folder of its own, with no tests yet."""
    folder = Path(spec["folder"])
    labels = list(spec["labels"])
    return [
        Part(number, label, folder / f"part-{number}") for number, label in enumerate(labels, 1)
    ]


def _parts(session: pytest.Session, spec: dict[str, Any]) -> list[Part]:
    """The parts with their fixed shares, or empty shares when children steal groups."""
    parts = _new_parts(spec)
    listed = spec.get("parts")
    if listed is None:
        return parts
    owner = {node_id: index for index, ids in enumerate(listed) for node_id in ids}
    unlisted = []
    for item in session.items:
        if item.nodeid in owner:
            parts[owner[item.nodeid]].items.append(item)
        else:
            unlisted.append(item)
    min(parts, key=lambda part: len(part.items)).items.extend(unlisted)
    order = {id(item): index for index, item in enumerate(session.items)}
    for part in parts:
        part.items.sort(key=lambda item: order[id(item)])
    return parts


def _groups(session: pytest.Session, spec: dict[str, Any]) -> list[list[pytest.Item]]:
    """Collected tests in their groups, in collection order; new tests form their own."""
    by_id = {item.nodeid: item for item in session.items}
    groups = [[by_id[node_id] for node_id in group if node_id in by_id] for group in spec["groups"]]
    grouped = {node_id for group in spec["groups"] for node_id in group}
    groups += [[item] for item in session.items if item.nodeid not in grouped]
    return [group for group in groups if group]


def _share_out(groups: list[list[pytest.Item]], parts: list[Part]) -> None:
    """Whole groups, largest first, each onto the part with the fewest tests so far."""
    for group in sorted(groups, key=len, reverse=True):
        min(parts, key=lambda part: len(part.items)).items.extend(group)
    order = {id(item): index for index, item in enumerate(item for g in groups for item in g)}
    for part in parts:
        part.items.sort(key=lambda item: order[id(item)])


def _divert_parent_junit(config: pytest.Config, folder: Path) -> str | None:
    """Where `--junitxml` pointed; pytest's writer in the parent writes beside the parts instead.

    The parent writes the parts' cases to that path itself once they have all ended.
    """
    xml = _logxml(config)
    if xml is None:
        return None
    wanted = str(xml.logfile)
    xml.logfile = str(folder / "parent.xml")
    return wanted


def _logxml(config: pytest.Config) -> Any:
    """pytest's JUnit writer, when `--junitxml` is on."""
    from _pytest.junitxml import xml_key

    return config.stash.get(xml_key, None)


def _fork_all(
    session: pytest.Session, parts: list[Part], groups: list[list[pytest.Item]] | None
) -> None:
    """One forked child per part; each returns from here into pytest's own run loop."""
    for part in parts:
        if groups is not None:
            request_read, request_write = os.pipe()
            reply_read, reply_write = os.pipe()
        part.started, part.started_at = time.monotonic(), time.time()
        pid = os.fork()
        if pid == 0:
            if groups is not None:
                os.close(request_read)
                os.close(reply_write)
                _become_child(session, part)
                _run_stolen(session, groups, request_write, reply_read)
                _exit_child(session)
            _become_child(session, part)
            _run_share(session, part)
            _exit_child(session)
        part.pid = pid
        if groups is not None:
            os.close(request_write)
            os.close(reply_read)
            part.requests, part.replies = request_read, reply_write


def _become_child(session: pytest.Session, part: Part) -> None:
    """A process group of its own, output to the part's log, JUnit and feed of the part."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    log = os.open(part.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for descriptor in (1, 2, *_saved_terminal(session.config)):
        os.dup2(log, descriptor)
    os.close(log)
    xml = _logxml(session.config)
    if xml is not None:
        xml.logfile = str(part.junit)
    manager = session.config.pluginmanager
    shared = manager.get_plugin("qaagent-live-feed")
    if shared is not None:
        own = type(shared)(str(part.feed))
        own.collected = True
        manager.register(own, "qaagent-part-feed")


def _become_early_child(session: pytest.Session, part: Part, share: PartShare) -> None:
    """A part forked before collection: a plain pytest from here on that collects its share."""
    os.environ.pop(FORK_VARIABLE, None)
    _become_child(session, part)
    manager = session.config.pluginmanager
    for name in ("qaagent-live-feed", "qaagent-part-feed"):
        feed = manager.get_plugin(name)
        if feed is not None:
            feed.collected = False
            feed.part = part.label
    clock = manager.get_plugin("qaagent-collection-clock")
    if clock is not None:
        clock.path = part.folder / COLLECTION_FILE
    manager.register(share, "qaagent-part-share")
    session.config.stash[_LEAVE_WITH] = CRASH_EXIT


class Shares:
    """Which part runs a test and which parts collect a file, the same in every child."""

    def __init__(self, listed: Sequence[Sequence[str]]) -> None:
        self.count = len(listed)
        self.owner_of_test = {node_id: index for index, ids in enumerate(listed) for node_id in ids}
        tests_per_file: dict[str, Counter[int]] = {}
        for node_id, index in self.owner_of_test.items():
            tests_per_file.setdefault(_file_of(node_id), Counter())[index] += 1
        self.parts_of_file = {file: set(counts) for file, counts in tests_per_file.items()}
        self.owner_of_file = {
            file: min(counts, key=lambda index: (-counts[index], index))
            for file, counts in tests_per_file.items()
        }

    def file_owner(self, file: str) -> int:
        """The part with most of the file's listed tests, or one chosen by the path of a new file."""
        owner = self.owner_of_file.get(file)
        return owner if owner is not None else zlib.crc32(file.encode()) % self.count

    def runs(self, index: int, node_id: str) -> bool:
        """Whether part `index` runs the test: its listed part, else its file's owner."""
        owner = self.owner_of_test.get(node_id)
        return (owner if owner is not None else self.file_owner(_file_of(node_id))) == index

    def collects(self, index: int, file: str) -> bool:
        """Whether part `index` must collect the file to run its share."""
        return index in self.parts_of_file.get(file, ()) or self.file_owner(file) == index


def _file_of(node_id: str) -> str:
    """The file part of a node id, relative to pytest's rootdir."""
    return node_id.partition("::")[0]


class PartShare:
    """In a part forked before collection: skip other parts' test files, keep only its tests."""

    def __init__(self, shares: Shares, index: int) -> None:
        self.shares = shares
        self.index = index

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        """A test file none of this part's tests live in is not imported here."""
        if collection_path.name in ("__init__.py", "conftest.py"):
            return None
        patterns = config.getini("python_files")
        if not any(fnmatch_ex(pattern, collection_path) for pattern in patterns):
            return None
        try:
            file = collection_path.relative_to(config.rootpath).as_posix()
        except ValueError:
            return None
        return None if self.shares.collects(self.index, file) else True

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Only this part's tests stay; the others run in the parts they belong to."""
        mine = [item for item in items if self.shares.runs(self.index, item.nodeid)]
        if len(mine) < len(items):
            kept = {id(item) for item in mine}
            config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
            items[:] = mine


def _saved_terminal(config: pytest.Config) -> list[int]:
    """The descriptors pytest's fd capture saved the terminal in, restored between tests."""
    manager = config.pluginmanager.get_plugin("capturemanager")
    capturing = getattr(manager, "_global_capturing", None)
    saved = [
        getattr(getattr(capturing, stream, None), "targetfd_save", None)
        for stream in ("out", "err")
    ]
    return [descriptor for descriptor in saved if isinstance(descriptor, int)]


def _run_share(session: pytest.Session, part: Part) -> None:
    """pytest's own run loop over the part's share of the collected tests."""
    session.items[:] = part.items
    session.testscollected = len(part.items)
    _run_items(session, part.items)


def _run_items(session: pytest.Session, items: Sequence[pytest.Item]) -> None:
    """Each item through pytest's protocol, its successor named so fixtures tear down right."""
    for index, item in enumerate(items):
        following = items[index + 1] if index + 1 < len(items) else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
        if session.shouldfail or session.shouldstop:
            break


def _run_stolen(
    session: pytest.Session, groups: list[list[pytest.Item]], requests: int, replies: int
) -> None:
    """Ask the parent for the next group before the last test of this one, and run it."""
    session.items[:] = []
    current = _next_group(groups, requests, replies)
    while current:
        ahead: list[pytest.Item] = []
        for index, item in enumerate(current):
            if index + 1 < len(current):
                following: pytest.Item | None = current[index + 1]
            else:
                ahead = _next_group(groups, requests, replies)
                following = ahead[0] if ahead else None
            session.items.append(item)
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            if session.shouldfail or session.shouldstop:
                return
        current = ahead
    session.testscollected = len(session.items)


def _next_group(groups: list[list[pytest.Item]], requests: int, replies: int) -> list[pytest.Item]:
    """The group the parent hands out next; empty when none is left."""
    os.write(requests, b"?")
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = os.read(replies, 64)
        if not chunk:
            return []
        answer += chunk
    index = int(answer)
    return groups[index] if index >= 0 else []


def _exit_child(session: pytest.Session) -> None:
    """Finish the session as pytest would (summary, JUnit), then leave without the parent's exit."""
    status = 1 if session.testsfailed else (0 if session.testscollected else 5)
    code = 3
    try:
        session.exitstatus = status
        session.config.hook.pytest_sessionfinish(session=session, exitstatus=status)
        code = status
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _spawn_all(config: pytest.Config, parts: list[Part]) -> None:
    """Each part as a pytest process of its own, selecting its share by node id."""
    args = [sys.executable, "-m", "pytest", *config.invocation_params.args]
    for part in parts:
        select_file = part.folder / "select.txt"
        select_file.write_text("".join(item.nodeid + "\n" for item in part.items), "utf-8")
        env = {key: value for key, value in os.environ.items() if key != FORK_VARIABLE}
        env[SELECT_VARIABLE] = str(select_file)
        env[FEED_VARIABLE] = str(part.feed)
        actions = [
            (os.POSIX_SPAWN_OPEN, 1, str(part.log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        part.started, part.started_at = time.monotonic(), time.time()
        part.pid = os.posix_spawn(
            sys.executable,
            [*args, f"--junitxml={part.junit}"],
            env,
            file_actions=actions,
            setpgroup=0,
        )


def _supervise(
    parts: list[Part], groups: list[list[pytest.Item]] | None, timeout: float | None
) -> None:
    """Hand out groups, reap children, and kill a part that outlives its timeout."""
    pending = list(range(len(groups))) if groups is not None else []
    pending.reverse()
    running = {part.pid: part for part in parts}
    for part in parts:
        part.exits = _watch_exit(part.pid)
    try:
        while running:
            _serve_requests(running.values(), pending)
            _reap(running)
            _kill_late(running.values(), timeout)
    except BaseException:
        for part in running.values():
            _kill(part)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(part.pid, 0)
        raise


def _serve_requests(parts: Iterable[Part], pending: list[int]) -> None:
    """Answer each waiting child with its next group's index, or -1 when none is left.

    Waits at most `POLL_SECONDS`, and no longer than until a child asks or exits.
    """
    parts = list(parts)
    asking = {part.requests: part for part in parts if part.requests >= 0}
    exits = [part.exits for part in parts if part.exits >= 0]
    ready, _, _ = select.select([*asking, *exits], [], [], POLL_SECONDS)
    for descriptor in ready:
        part = asking.get(descriptor)
        if part is None:
            continue
        if not os.read(descriptor, 1):
            os.close(descriptor)
            part.requests = -1
            continue
        index = pending.pop() if pending else -1
        try:
            os.write(part.replies, f"{index}\n".encode())
        except OSError:
            part.requests = -1


def _watch_exit(pid: int) -> int:
    """A descriptor that becomes readable when the child exits, or -1 where Linux has none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return -1


def _reap(running: dict[int, Part]) -> None:
    """Record every child that has ended."""
    for pid, part in list(running.items()):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            continue
        part.finished = time.monotonic()
        if os.WIFEXITED(status):
            part.exit_code = os.WEXITSTATUS(status)
        elif part.ending != "timed-out":
            part.exit_code, part.ending = CRASH_EXIT, "crashed"
        else:
            part.exit_code = TIMED_OUT_EXIT
        for descriptor in (part.requests, part.replies, part.exits):
            if descriptor >= 0:
                os.close(descriptor)
        part.requests = part.replies = part.exits = -1
        del running[pid]


def _kill_late(parts: Iterable[Part], timeout: float | None) -> None:
    """A part past its timeout is killed with its whole process group."""
    if timeout is None:
        return
    now = time.monotonic()
    for part in parts:
        if part.ending != "timed-out" and now - part.started > timeout:
            part.ending = "timed-out"
            _kill(part)


def _kill_all(parts: list[Part]) -> None:
    """Every started child's process group, then the parent leaves as a stopped process would."""
    for part in parts:
        if part.pid > 0:
            _kill(part)
    os._exit(128 + signal.SIGTERM)


def _kill(part: Part) -> None:
    """SIGKILL to the part's process group."""
    with contextlib.suppress(OSError):
        os.killpg(part.pid, signal.SIGKILL)


def _finish(session: pytest.Session, parts: list[Part], folder: Path, junit: str | None) -> None:
    """The parts' cases in the parent's JUnit XML, `parts.json`, failed if any part failed."""
    cases: list[ET.Element] = []
    for part in parts:
        cases += _part_cases(part)
        _echo_log(part)
    if junit is not None:
        _write_junit(Path(junit), cases)
    summary = [
        {
            "label": part.label,
            "exit_code": part.exit_code,
            "ending": part.ending,
            "started_at": part.started_at,
            "finished_at": part.started_at + part.finished - part.started,
            "log": str(part.log),
        }
        for part in parts
    ]
    (folder / PARTS_FILE).write_text(json.dumps(summary), "utf-8")
    codes = [part.exit_code if part.exit_code is not None else CRASH_EXIT for part in parts]
    failed = [code for code in codes if code not in {0, 5}]
    session.testscollected = len(cases)
    session.testsfailed = len(failed)
    session.config.stash[_LEAVE_WITH] = CRASH_EXIT


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The exit status to leave with, once this process ran parts or is one."""
    if _LEAVE_WITH in session.config.stash:
        session.config.stash[_LEAVE_WITH] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A process that ran parts, or is one, exits once every plugin has finished.

    Its results are written by then, and the interpreter's teardown would only keep qaagent
    (or the parent) waiting.
    """
    status = config.stash.get(_LEAVE_WITH, None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _echo_log(part: Part) -> None:
    """The part's output in the parent's, under a heading, so one log holds the whole run."""
    sys.stdout.write(f"\n===== {part.label} ({part.ending}, exit {part.exit_code}) =====\n")
    with contextlib.suppress(OSError):
        sys.stdout.write(part.log.read_text("utf-8", errors="replace"))
    sys.stdout.flush()


def _part_cases(part: Part) -> list[ET.Element]:
    """The part's JUnit test cases, or, when it wrote none, its feed's tests."""
    if part.ending == "exited" and part.junit.exists():
        try:
            root = ET.parse(part.junit).getroot()
        except ET.ParseError:
            pass
        else:
            return list(root.iter("testcase"))
    return _cases_from_feed(part)


def _cases_from_feed(part: Part) -> list[ET.Element]:
    """Finished tests with their outcome; a test still running is cut short, naming why.

    A part killed at its timeout leaves its running test `timed-out`; one that crashed, an
    error.
    """
    finished: dict[str, dict[str, Any]] = {}
    started: list[str] = []
    try:
        lines = part.feed.read_text("utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        entry = json.loads(line)
        if entry.get("event") == "started":
            started.append(str(entry["test"]))
        elif "outcome" in entry:
            finished[str(entry["test"])] = entry
    cases = [_case(node_id, entry) for node_id, entry in finished.items()]
    reason = "timed out" if part.ending == "timed-out" else "crashed"
    seconds = part.finished - part.started
    running = [node_id for node_id in started if node_id not in finished]
    outcome = "timed-out" if part.ending == "timed-out" else "error"
    for node_id in running:
        message = f"{part.label} {reason} in this test after {seconds:.1f}s"
        cases.append(_case(node_id, {"outcome": outcome, "message": message}))
    if not running:
        cases.append(_part_case(part, f"{part.label} {reason} after {seconds:.1f}s"))
    return cases


def _part_case(part: Part, message: str) -> ET.Element:
    """An error named after the part, for a part that ended badly outside any test."""
    element = ET.Element("testcase", classname="", name=part.label, time="0")
    ET.SubElement(element, "error", message=message)
    return element


def _case(node_id: str, entry: dict[str, Any]) -> ET.Element:
    """A `<testcase>` as pytest writes it, from a feed line."""
    path, _, rest = node_id.partition("::")
    names = rest.split("::") if rest else [path]
    module = path.removesuffix(".py").replace("/", ".")
    element = ET.Element(
        "testcase",
        classname=".".join([module, *names[:-1]]),
        name=names[-1],
        time=str(entry.get("duration", 0.0)),
    )
    properties = ET.SubElement(element, "properties")
    outcome = str(entry["outcome"])
    for name, value in (("nodeid", node_id), ("file", path), ("qaagent.outcome", outcome)):
        ET.SubElement(properties, "property", name=name, value=value)
    message = str(entry.get("message", ""))
    if outcome in ("failed", "xpassed"):
        ET.SubElement(element, "failure", message=message)
    elif outcome in ("error", "timed-out"):
        ET.SubElement(element, "error", message=message)
    elif outcome in ("skipped", "xfailed"):
        ET.SubElement(element, "skipped", message=message)
    return element


def _write_junit(path: Path, cases: list[ET.Element]) -> None:
    """One `<testsuite>` holding every part's cases."""
    counts = {tag: sum(1 for case in cases if case.find(tag) is not None) for tag in _TAGS}
    suite = ET.Element(
        "testsuite",
        name="pytest",
        tests=str(len(cases)),
        failures=str(counts["failure"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
    )
    suite.extend(cases)
    root = ET.Element("testsuites", name="pytest tests")
    root.append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode"), "utf-8"
    )


_TAGS = ("failure", "error", "skipped")
