"""Profiles that could mix up tasks, hang qaagent or exhaust its memory, run as real subprocesses."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from qaagent_process import environment
from qaagent_process import qaagent as run_qaagent
from test_run_all import checked_manifest, project, run_all, run_dirs

from qaagent.model.outcomes import TaskOutcome

__all__ = ["project"]

QUICK_TIMEOUT = 10
VERDICT_TOOL = """\
import os, sys, time
value = sys.argv[1]
print(f"value={value}", flush=True)
time.sleep(0.5)
failed = value == "a b"
case = '<failure message="wrong">boom</failure>' if failed else ""
with open(os.environ["QAAGENT_JUNIT"], "w", encoding="utf-8") as junit:
    junit.write(
        f'<testsuites><testsuite name="v" tests="1" failures="{int(failed)}">'
        f'<testcase classname="v" name="check">{case}</testcase></testsuite></testsuites>'
    )
sys.exit(1 if failed else 0)
"""
CLASHING_NAMES = """\
tests: {unit: {enabled: false}}
suites:
  clash:
    kind: command
    command: [python, tools/verdict.py, "{v}"]
    matrix: {v: [a/b, a_b, a b]}
run: {parallel: true}
"""


def qaagent(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """qaagent with a short timeout: these profiles must be answered at once, never hang."""
    outside = environment(drop=("CI", "QAAGENT_"))
    return run_qaagent(*args, cwd=cwd, env=outside, timeout=QUICK_TIMEOUT)


def assert_refused(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("qaagent: error: ")
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr


def test_tasks_whose_names_clean_alike_keep_their_own_folder_junit_and_log(
    project: Path,
) -> None:
    (project / "tools" / "verdict.py").write_text(VERDICT_TOOL, encoding="utf-8")
    (project / "clash.yaml").write_text(CLASHING_NAMES, encoding="utf-8")
    completed = run_all(project, "--config", "clash.yaml")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    (run_dir,) = run_dirs(project)
    tasks = {task.name: task for task in checked_manifest(run_dir).tasks}
    assert {name: task.outcome for name, task in tasks.items()} == {
        "clash[v=a/b]": TaskOutcome.passed,
        "clash[v=a_b]": TaskOutcome.passed,
        "clash[v=a b]": TaskOutcome.failed,
    }
    assert [task.counts.failed for task in tasks.values()] == [0, 0, 1]
    folders = {name: (run_dir / str(task.log)).parent for name, task in tasks.items()}
    assert len(set(folders.values())) == 3
    assert folders["clash[v=a_b]"].name == "clash[v=a_b]"
    for name, task in tasks.items():
        value = name.removeprefix("clash[v=").removesuffix("]")
        assert (run_dir / str(task.log)).read_text(encoding="utf-8").count("value=") == 1
        assert f"value={value}\n" in (run_dir / str(task.log)).read_text(encoding="utf-8")
        assert all(Path(junit).parent.parent.name == folders[name].name for junit in task.junit)


def test_a_fifo_named_like_the_profile_is_refused_instead_of_read_or_skipped(
    tmp_path: Path,
) -> None:
    (tmp_path / "qaagent.yaml").write_text("project: {name: outer}\n", encoding="utf-8")
    inner = tmp_path / "inner"
    inner.mkdir()
    os.mkfifo(inner / "qaagent.yaml")
    found = qaagent("validate", cwd=inner)
    assert_refused(found, f"{inner / 'qaagent.yaml'} is a named pipe (FIFO), not a profile file")
    given = qaagent("validate", "--config", "qaagent.yaml", cwd=inner)
    assert_refused(given, "qaagent.yaml is a named pipe (FIFO), not a profile file")


def test_a_runs_folder_outside_the_project_is_warned_about_and_still_used(
    project: Path,
) -> None:
    outside = project.parent / "elsewhere"
    (project / "outside.yaml").write_text(
        "tests: {unit: {enabled: false}}\n"
        "suites: {lint: {kind: command, command: [python, tools/step.py]}}\n"
        "run: {runs_dir: ../elsewhere}\n",
        encoding="utf-8",
    )
    completed = run_all(project, "--config", "outside.yaml")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    warnings = [line for line in completed.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"qaagent: warning: run.runs_dir is {outside}, outside the project folder {project}; "
        "runs are written and pruned there."
    ]
    assert any((path / "manifest.json").is_file() for path in outside.iterdir())


def test_a_runs_folder_at_the_file_system_root_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "qaagent.yaml").write_text("run: {runs_dir: /}\n", encoding="utf-8")
    validated = qaagent("validate", cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    assert validated.stderr == (
        "qaagent: warning: run.runs_dir is the file system root /; runs are written there.\n"
    )


def test_an_alias_bomb_is_refused_at_once_naming_the_line(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    (tmp_path / "qaagent.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_refused(
        qaagent("validate", cwd=tmp_path),
        "its aliases expand it past 100,000 values, the most a profile may hold "
        "(qaagent.yaml, line 5)",
    )


def test_an_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    (tmp_path / "qaagent.yaml").write_text(
        "suites:\n  loop: &loop {kind: command, command: [echo], env: {X: *loop}}\n",
        encoding="utf-8",
    )
    assert_refused(
        qaagent("validate", cwd=tmp_path),
        "an alias refers to a node that contains it (qaagent.yaml, line 2)",
    )


def test_a_matrix_of_ten_billion_tasks_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    axes = "".join(f"      axis{index}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n" for index in range(10))
    (tmp_path / "qaagent.yaml").write_text(
        f"suites:\n  evals:\n    kind: command\n    command: [echo]\n    matrix:\n{axes}",
        encoding="utf-8",
    )
    for command in ("validate", "run-all"):
        assert_refused(
            qaagent(command, cwd=tmp_path),
            "suites.evals.matrix: makes 10,000,000,000 tasks; a profile may expand to at most "
            "10,000 (qaagent.yaml, line 5)",
        )
    assert not (tmp_path / ".qaagent").exists()
