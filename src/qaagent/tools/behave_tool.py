"""How behave is invoked: JUnit per feature into the attempt's folder, scenarios selected by location."""

from __future__ import annotations

import os
from pathlib import Path

from qaagent.model.outcomes import TestCase
from qaagent.model.task import Task
from qaagent.tools.attempts import AdapterDefaults, expand_argv, tool_environment
from qaagent.tools.base import Invocation, RunContext
from qaagent.tools.behave_scenarios import (
    SCENARIOS_FILE,
    SCENARIOS_LOG,
    dry_run_argv,
    list_scenarios,
    select_scenarios,
)
from qaagent.tools.python_tools import module_command, python_path_with, require_modules

RERUN_FILE = "rerun.txt"
SELECTION_FILE = "rerun-selection.txt"
USAGE_ERROR_EXIT = 2
PLUGIN_DIR = Path(__file__).parent / "behave_plugin"
LIVE_FORMATTER = "qaagent_behave:LiveFeedFormatter"


class BehaveAdapter(AdapterDefaults):
    """behave with `--junit`; selected tests and retries run as `@file` lists of scenario locations."""

    def invocation(
        self, task: Task, context: RunContext, attempt_dir: Path, rerun: list[TestCase]
    ) -> Invocation:
        """First attempt: the suite path or the selected scenarios; retry: the last failures."""
        inherited = tool_environment(task, context)
        env = {"PYTHONPATH": python_path_with(PLUGIN_DIR, inherited)}
        require_modules(task, ("behave",), {**inherited, **env})
        notes: list[str] = []
        selection = feature_paths(task)
        narrowed = False
        if rerun:
            earlier = latest_rerun_file(attempt_dir)
            if earlier is None:
                notes.append("no rerun file from the last attempt; running the whole suite again")
            else:
                selected = write_selection(earlier, task.cwd, attempt_dir / SELECTION_FILE)
                selection = [f"@{selected}"]
                narrowed = True
                notes.append(f"rerunning the scenarios listed in {earlier}")
        elif task.selected_tests:
            locations, note = selected_locations(task, context, attempt_dir)
            notes.append(note)
            if locations:
                selection = [f"@{write_locations(locations, attempt_dir / SELECTION_FILE)}"]
                narrowed = True
        argv = [
            *behave_command(task),
            *selection,
            *report_options(attempt_dir),
            *task.args,
            *task.cli_args,
            skipped_option(narrowed=narrowed),
        ]
        return Invocation(
            argv=argv,
            cwd=task.cwd,
            env=env,
            junit=attempt_dir / "junit",
            notes=notes,
            partial=bool(rerun) and narrowed,
        )

    def infrastructure_error(self, exit_code: int, cases: list[TestCase]) -> str | None:
        """behave exits 2 when its command line is wrong, before running anything."""
        if exit_code == USAGE_ERROR_EXIT:
            return "behave rejected its command line (exit 2); check the suite's args"
        return None

    def artifacts(self, attempt_dir: Path, invocation: Invocation) -> list[Path]:
        """behave leaves no screenshots; these files tell which scenarios failed or were chosen."""
        listed = (RERUN_FILE, SELECTION_FILE, SCENARIOS_LOG)
        return [attempt_dir / name for name in listed if (attempt_dir / name).is_file()]


def behave_command(task: Task) -> tuple[str, ...]:
    """The suite's own command in place of `python -m behave`, else its interpreter's behave."""
    return module_command(task, "behave")


def feature_paths(task: Task) -> list[str]:
    """The suite's features folder or file; behave looks in `features/` when none is given."""
    return [str(task.path)] if task.path is not None else []


def report_options(attempt_dir: Path) -> list[str]:
    """JUnit per feature, the rerun file, a compact console, and the live feed of scenarios.

    behave pairs each `--outfile` with the `--format` in the same position, so ours come first,
    paired explicitly ("-" is the console), and formats in the suite's args keep theirs. The live
    formatter writes to `$QAAGENT_EVENTS` itself; its own output goes nowhere.
    """
    return [
        "--junit",
        "--junit-directory",
        str(attempt_dir / "junit"),
        "--format",
        "rerun",
        "--outfile",
        str(attempt_dir / RERUN_FILE),
        "--format",
        "progress",
        "--outfile",
        "-",
        "--format",
        LIVE_FORMATTER,
        "--outfile",
        os.devnull,
    ]


def skipped_option(*, narrowed: bool) -> str:
    """Last on the line, so it wins over the suite's args and behave.ini.

    A run of the whole suite reports skipped scenarios, as behave's summary counts them; a run of
    selected scenarios hides the ones it did not select instead of reporting them as skipped.
    """
    return "--no-skipped" if narrowed else "--show-skipped"


def selected_locations(task: Task, context: RunContext, attempt_dir: Path) -> tuple[list[str], str]:
    """Locations of `task.selected_tests` in the features as they are now, and what was decided.

    No locations means the whole suite: when behave cannot list its scenarios, or when a
    selected scenario is no longer there (renamed, removed), only a full run shows its fate.
    """
    env = tool_environment(task, context)
    json_file = attempt_dir / SCENARIOS_FILE
    argv = expand_argv(
        [*dry_run_argv(behave_command(task), feature_paths(task), json_file), *task.args], env
    )
    features, problem = list_scenarios(task, context, argv, env, attempt_dir)
    if features is None:
        return [], f"could not list the scenarios ({problem}); running the whole suite"
    selection = select_scenarios(task.selected_tests, features, task.cwd)
    if selection.missing:
        missing = ", ".join(selection.missing)
        return [], (
            f"{len(selection.missing)} selected scenario(s) not found in the features as they "
            f"are now ({missing}); running the whole suite"
        )
    ids = ", ".join(dict.fromkeys(task.selected_tests))
    return selection.locations, (
        f"running {len(selection.locations)} selected scenario(s) by location: {ids}"
    )


def latest_rerun_file(attempt_dir: Path) -> Path | None:
    """The rerun file of the most recent earlier attempt of this task (attempts are siblings)."""
    earlier = [
        path
        for path in attempt_dir.parent.glob(f"*/{RERUN_FILE}")
        if path.parent != attempt_dir and path.is_file()
    ]
    return max(earlier, key=lambda path: path.stat().st_mtime_ns, default=None)


def write_selection(rerun_file: Path, cwd: Path, target: Path) -> Path:
    """Copy scenario locations with absolute paths: behave resolves `@file` entries from its folder."""
    return write_locations(absolute_locations(rerun_file, cwd), target)


def write_locations(locations: list[str], target: Path) -> Path:
    """A behave `@file`: one `file:line` location a line."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{location}\n" for location in locations), encoding="utf-8")
    return target


def absolute_locations(rerun_file: Path, cwd: Path) -> list[str]:
    """`features/a.feature:12` lines of a rerun file, made absolute against behave's folder."""
    lines = rerun_file.read_text(encoding="utf-8", errors="replace").splitlines()
    locations = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [str(cwd / location) for location in locations]
