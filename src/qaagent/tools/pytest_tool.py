"""pytest: JUnit path forced on the command line, node ids recorded, retries of exact node ids."""

from __future__ import annotations

import os
import re
from pathlib import Path

from qaagent.model.outcomes import CaseStatus, TestCase
from qaagent.model.results import Segment
from qaagent.model.task import Task
from qaagent.tools.attempts import AdapterDefaults, tool_environment
from qaagent.tools.base import Invocation, RunContext
from qaagent.tools.pytest_fork import FORK_PLUGIN, FORK_VARIABLE, fork_segments, write_fork_request
from qaagent.tools.python_tools import module_command, require_modules

PLUGIN_DIR = Path(__file__).parent / "pytest_plugin"
PLUGIN = "qaagent_pytest"
SELECT_VARIABLE = "QAAGENT_PYTEST_SELECT"
EXCLUDE_VARIABLE = "QAAGENT_PYTEST_EXCLUDE"
NODEID = "nodeid"
DEDUPE_SUFFIX = re.compile(r" #\d+$")
INTERRUPTED_EXIT = 2
ERROR_LINE = re.compile(r"^E +(?P<text>\S.*)$", re.MULTILINE)
COULD_NOT_RUN = {
    3: "pytest stopped with an internal error",
    4: "pytest could not use its command line (usage error)",
    5: "pytest found no tests to run",
}


class PytestAdapter(AdapterDefaults):
    """`python -m pytest [path] [args] --junitxml=... -p qaagent_pytest`, in the suite's python."""

    modules: tuple[str, ...] = ("pytest",)

    def invocation(
        self, task: Task, context: RunContext, attempt_dir: Path, rerun: list[TestCase]
    ) -> Invocation:
        """The first run, restricted to `task.selected_tests`, or a rerun of exact node ids."""
        junit = attempt_dir / "junit.xml"
        env = {"PYTHONPATH": _with_plugin_dir(task, context)}
        require_modules(task, self.modules, {**tool_environment(task, context), **env})
        argv = [*pytest_command(task)]
        if task.path is not None:
            argv.append(str(task.path))
        argv += [*task.args, *task.cli_args, f"--junitxml={junit}", "-p", PLUGIN]
        notes = []
        selection = _selection(task, rerun)
        partial = bool(rerun) and selection != selected_node_ids(task.selected_tests)
        if selection:
            select_file = attempt_dir / "select.txt"
            select_file.write_text("\n".join(selection) + "\n", encoding="utf-8")
            env[SELECT_VARIABLE] = str(select_file)
            what = "rerunning" if rerun else "running"
            notes.append(f"{what} {len(selection)} selected test(s): {', '.join(selection)}")
        if task.excluded_tests:
            exclude_file = attempt_dir / "exclude.txt"
            exclude_file.write_text("\n".join(task.excluded_tests) + "\n", encoding="utf-8")
            env[EXCLUDE_VARIABLE] = str(exclude_file)
            notes.append(f"leaving out {len(task.excluded_tests)} test(s) run by other shards")
        if task.fork is not None and not rerun:
            env[FORK_VARIABLE] = str(write_fork_request(task.fork, attempt_dir))
            argv += ["-p", FORK_PLUGIN]
            notes.append(f"collecting once and forking {len(task.fork.labels)} parts")
        return Invocation(
            argv=argv, cwd=task.cwd, env=env, junit=junit, notes=notes, partial=partial
        )

    def segments(self, output_dir: Path) -> list[Segment]:
        """The forked parts of a split suite, read from what its parent process left."""
        return fork_segments(output_dir)

    def infrastructure_error(self, exit_code: int, cases: list[TestCase]) -> str | None:
        """pytest's exit codes 3, 4 and 5, or 2 after a collection error, mean no test ran."""
        if exit_code == INTERRUPTED_EXIT:
            failed = collection_errors(cases)
            if failed:
                return collection_failure(failed[0])
        return COULD_NOT_RUN.get(exit_code)


def pytest_command(task: Task) -> tuple[str, ...]:
    """The suite's own command in place of `python -m pytest`, else its interpreter's pytest."""
    return module_command(task, "pytest")


def collection_errors(cases: list[TestCase]) -> list[TestCase]:
    """Errors of files or packages pytest could not collect.

    The plugin labels every collected test with its node id; an error without one is the
    `<testcase>` pytest writes for a collector that failed.
    """
    return [
        case for case in cases if case.status is CaseStatus.error and NODEID not in case.properties
    ]


def collection_failure(case: TestCase) -> str:
    """`collection failed: <where>: <the exception>`, from the error pytest printed.

    Where is the file when the JUnit XML names it (xunit1), else pytest's dotted module name.
    """
    where = case.file or case.name
    details = ERROR_LINE.findall(case.output or "")
    text = details[-1] if details else (case.message or "no details")
    return f"collection failed: {where}: {text}"


def _selection(task: Task, rerun: list[TestCase]) -> list[str]:
    """Node ids to run; empty means all, also when a case to rerun has no node id."""
    if not rerun:
        return selected_node_ids(task.selected_tests)
    node_ids = [case.properties.get(NODEID) for case in rerun]
    if any(node_id is None for node_id in node_ids):
        return selected_node_ids(task.selected_tests)
    return list(dict.fromkeys(node_id for node_id in node_ids if node_id is not None))


def selected_node_ids(test_ids: tuple[str, ...]) -> list[str]:
    """Node ids from case ids (a ` #2` suffix dropped); empty, so all run, if one is no node id.

    A case id without `::` names a collection error, not a test, and only a full run can
    show whether it is fixed.
    """
    node_ids = [DEDUPE_SUFFIX.sub("", test_id) for test_id in test_ids]
    if any("::" not in node_id for node_id in node_ids):
        return []
    return list(dict.fromkeys(node_ids))


def _with_plugin_dir(task: Task, context: RunContext) -> str:
    """PYTHONPATH with the plugin's folder first, so any interpreter can load it with `-p`."""
    inherited = {**os.environ, **task.env, **context.env}.get("PYTHONPATH", "")
    return os.pathsep.join(part for part in (str(PLUGIN_DIR), inherited) if part)
