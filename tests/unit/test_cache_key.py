"""The cache key: stable whatever the order things are listed in, and blind to secret values."""

from __future__ import annotations

from pathlib import Path

from qaagent.evidence.cached import look_up, store_passing
from qaagent.model.outcomes import Counts, TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.model.task import Task
from qaagent.plan.cache import KeyMaker, env_digest, files_digest, input_files


def command_task(root: Path, **fields: object) -> Task:
    """A command suite reading the Python files under `root`; no interpreter is probed for it."""
    values: dict[str, object] = {
        "name": "evals",
        "suite": "evals",
        "kind": "command",
        "cwd": root,
        "command": ("./run", "--fast"),
        "cache": True,
        "inputs": ("**/*.py",),
        "root": root,
        **fields,
    }
    return Task.model_validate(values)


def test_the_files_digest_does_not_depend_on_the_order_they_were_found_in(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a")
    (tmp_path / "b.py").write_text("b")
    found = {"a.py": tmp_path / "a.py", "b.py": tmp_path / "b.py"}
    assert files_digest(found) == files_digest(dict(reversed(found.items())))


def test_a_files_content_and_its_name_both_change_the_digest(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a")
    before = files_digest({"a.py": tmp_path / "a.py"})
    assert files_digest({"b.py": tmp_path / "a.py"}) != before
    (tmp_path / "a.py").write_text("changed")
    assert files_digest({"a.py": tmp_path / "a.py"}) != before


def test_the_env_digest_ignores_order_and_secret_values_but_not_secret_names() -> None:
    digest = env_digest({"MODE": "fast", "API_TOKEN": "one"}, ())
    assert env_digest({"API_TOKEN": "two", "MODE": "fast"}, ()) == digest
    assert env_digest({"MODE": "fast"}, ()) != digest
    assert env_digest({"MODE": "slow", "API_TOKEN": "one"}, ()) != digest


def test_a_variable_the_profile_lists_as_secret_is_left_out_by_value() -> None:
    listed = ("SEED",)
    assert env_digest({"SEED": "1"}, listed) == env_digest({"SEED": "2"}, listed)
    assert env_digest({"SEED": "1"}, ()) != env_digest({"SEED": "2"}, ())


def test_caches_and_environments_are_never_inputs(tmp_path: Path) -> None:
    for name in ("tests/test_a.py", "tests/__pycache__/x.py", ".venv/lib/y.py", ".qaagent/z.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert list(input_files(command_task(tmp_path))) == ["tests/test_a.py"]


def test_the_key_changes_with_the_command_and_not_with_a_secret_value(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a")
    keys = KeyMaker({"BASE_URL": "http://localhost"}, ())
    key = keys.key(command_task(tmp_path, env={"API_TOKEN": "one"}))
    assert keys.key(command_task(tmp_path, env={"API_TOKEN": "two"})) == key
    assert keys.key(command_task(tmp_path, env={"API_TOKEN": "one"}, args=("-x",))) != key
    assert "API_TOKEN (secret)" in key.inputs["env"]
    assert "one" not in str(key.inputs)
    assert key.inputs["tools"] == "-"


def passed(name: str, key: str, flaky: int = 0) -> TaskResult:
    return TaskResult(
        task=name,
        suite=name,
        kind="command",
        outcome=TaskOutcome.passed,
        counts=Counts(passed=1, flaky=flaky),
        cache_key=key,
    )


def test_a_flaky_pass_and_a_run_folder_that_is_gone_are_misses(tmp_path: Path) -> None:
    store_passing(tmp_path, "run-1", [passed("evals", "k1"), passed("lint", "k2", flaky=1)])
    assert not (tmp_path / "cache" / "k2.json").exists()
    assert (tmp_path / "cache" / "k1.json").exists()
    assert look_up(tmp_path, "evals", "k1") is None


def test_an_entry_naming_a_run_outside_the_runs_folder_is_a_miss(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "cache").mkdir(parents=True)
    entry = '{"task": "evals", "run_id": "../elsewhere", "key": "k1", "inputs": {}}'
    (runs / "cache" / "k1.json").write_text(entry)
    assert look_up(runs, "evals", "k1") is None
