"""Profiles that are valid: discovery, relative paths, overrides and the qaagent-style layout."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from qaagent.config.loader import chosen_backend, load_profile
from qaagent.config.models import BackendSettings
from qaagent.errors import ConfigError
from qaagent.options import RUN_OPTIONS

QAAGENT_STYLE = """
project:
  name: shop
tests:
  unit:
    enabled: true
    output_dir: tests/unit
  behave:
    enabled: false
  e2e:
    enabled: false
run:
  retry_count: 2
  timeout: 300
  suite_order: [unit, behave, e2e]
  parallel: true
  max_workers: 3
"""


def write_profile(folder: Path, text: str, name: str = "qaagent.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_qaagent_style_profile_loads_unchanged(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    loaded = load_profile(write_profile(tmp_path, QAAGENT_STYLE), environ={})
    run = loaded.profile.run
    assert (run.retry_count, run.timeout, run.parallel, run.max_workers) == (2, 300.0, True, 3)
    assert run.suite_order == ["unit", "behave", "e2e"]
    assert loaded.profile.tests.unit.path == "tests/unit"
    [unit] = loaded.suites
    assert (unit.name, unit.kind, unit.path) == ("unit", "pytest", tmp_path / "tests" / "unit")
    assert (unit.retry_count, unit.timeout) == (2, 300.0)
    assert loaded.notices == [
        "tests.behave: disabled in the profile",
        "tests.e2e: disabled in the profile",
    ]


def test_paths_are_relative_to_the_profile_not_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "checks").mkdir(parents=True)
    (project / "pkg" / "deep").mkdir(parents=True)
    write_profile(
        project,
        """
        tests:
          unit: {path: checks}
        suites:
          lint:
            kind: command
            command: ruff check
            cwd: pkg
        run:
          runs_dir: out/runs
        """,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_profile(start=project / "pkg" / "deep", environ={})
    assert loaded.path == project / "qaagent.yaml"
    by_name = {suite.name: suite for suite in loaded.suites}
    assert by_name["unit"].path == project / "checks"
    assert by_name["unit"].cwd == project
    assert by_name["lint"].cwd == project / "pkg"
    assert loaded.runs_dir == project / "out" / "runs"


def test_relative_config_option_is_taken_from_the_start_folder(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    write_profile(tmp_path / "ci", "tests: {unit: {enabled: false}}\n", name="profile.yaml")
    loaded = load_profile(Path("ci/profile.yaml"), start=tmp_path, environ={})
    assert loaded.path == tmp_path / "ci" / "profile.yaml"
    assert loaded.root == tmp_path / "ci"


def test_discovery_finds_hidden_profile_in_a_parent_folder(tmp_path: Path) -> None:
    write_profile(tmp_path, "project: {name: hidden}\n", name=".qaagent.yaml")
    start = tmp_path / "src" / "shop"
    start.mkdir(parents=True)
    loaded = load_profile(start=start, environ={})
    assert loaded.path == tmp_path / ".qaagent.yaml"
    assert loaded.profile.project.name == "hidden"


def test_nearest_profile_wins_and_visible_name_before_hidden(tmp_path: Path) -> None:
    write_profile(tmp_path, "project: {name: outer}\n")
    inner = tmp_path / "inner"
    write_profile(inner, "project: {name: hidden}\n", name=".qaagent.yaml")
    write_profile(inner, "project: {name: visible}\n")
    assert load_profile(start=inner, environ={}).profile.project.name == "visible"


def test_precedence_is_cli_then_environment_then_file_then_defaults(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "run:\n  max_workers: 3\n  parallel: true\n")
    environ = {"QAAGENT_MAX_WORKERS": "4", "QAAGENT_TIMEOUT": "90"}
    assert load_profile(path, environ={}).profile.run.max_workers == 3
    from_env = load_profile(path, environ=environ).profile.run
    assert (from_env.max_workers, from_env.timeout) == (4, 90.0)
    from_cli = load_profile(
        path, environ=environ, cli_overrides={"max_workers": 5, "parallel": False}
    ).profile.run
    assert (from_cli.max_workers, from_cli.parallel, from_cli.timeout) == (5, False, 90.0)
    assert from_cli.retry_count == 0


def test_the_profile_says_where_each_run_setting_came_from(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "run:\n  max_workers: 3\n  timeout: 60\n  parallel: true\n")
    sources = load_profile(
        path,
        environ={"QAAGENT_TIMEOUT": "30", "QAAGENT_RUNS_DIR": "runs"},
        cli_overrides={"max_workers": 4, "fail_fast": None},
    ).sources
    assert sources["max_workers"] == "command line"
    assert sources["timeout"] == "environment QAAGENT_TIMEOUT"
    assert sources["runs_dir"] == "environment QAAGENT_RUNS_DIR"
    assert sources["parallel"] == "profile"
    assert sources["fail_fast"] == "default"
    assert set(sources) == {opt.name for opt in RUN_OPTIONS}


def test_a_retries_value_from_the_command_line_is_named_by_its_option(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "run: {}\n")
    with pytest.raises(ConfigError, match=r"\(from option --retries\)"):
        load_profile(path, cli_overrides={"retry_count": -1})


def test_empty_environment_value_does_not_override(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "run:\n  max_workers: 3\n")
    assert load_profile(path, environ={"QAAGENT_MAX_WORKERS": ""}).profile.run.max_workers == 3


def test_environment_variables_cover_the_scalar_run_settings() -> None:
    names = [opt.env_var for opt in RUN_OPTIONS]
    assert "QAAGENT_PARALLEL" in names
    assert "QAAGENT_MAX_WORKERS" in names
    assert "QAAGENT_FAIL_FAST" in names
    assert "QAAGENT_SUITE_ORDER" not in names


@pytest.mark.parametrize(
    ("config_path", "expected"),
    [
        ("e2e/playwright.config.ts", "playwright-node"),
        ("playwright.config.js", "playwright-node"),
        (None, "playwright-python"),
    ],
)
def test_e2e_runner_auto_detects_playwright_flavour(
    tmp_path: Path, config_path: str | None, expected: str
) -> None:
    (tmp_path / "e2e").mkdir()
    if config_path is not None:
        (tmp_path / config_path).write_text("export default {};\n", encoding="utf-8")
    path = write_profile(tmp_path, "tests:\n  e2e:\n    enabled: true\n    runner: auto\n")
    [e2e] = load_profile(path, environ={}).suites
    assert e2e.kind == expected


def test_explicit_e2e_runner_is_kept(tmp_path: Path) -> None:
    (tmp_path / "e2e").mkdir()
    (tmp_path / "playwright.config.ts").write_text("export default {};\n", encoding="utf-8")
    path = write_profile(tmp_path, "tests:\n  e2e: {runner: playwright-python}\n")
    [e2e] = load_profile(path, environ={}).suites
    assert e2e.kind == "playwright-python"


def test_scalars_in_env_args_and_matrix_become_text(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        suites:
          api:
            kind: command
            command: [python, -m, api_tests, 2]
            args: [-n, 4, --fast, true]
            env: {PORT: 8000, DEBUG: false, RATIO: 0.5}
            matrix: {shard: [1, 2]}
        """,
    )
    [api] = load_profile(path, environ={}).suites
    assert api.command == ("python", "-m", "api_tests", "2")
    assert api.args == ("-n", "4", "--fast", "true")
    assert api.env == {"PORT": "8000", "DEBUG": "false", "RATIO": "0.5"}
    assert api.matrix == {"shard": ("1", "2")}


def test_command_written_as_one_string_is_split_like_a_shell(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        suites:
          lint:
            kind: command
            command: ruff check --select "E,F" src
        """,
    )
    [lint] = load_profile(path, environ={}).suites
    assert lint.command == ("ruff", "check", "--select", "E,F", "src")


def test_suite_order_first_then_priority_then_profile_order(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        tests:
          unit: {enabled: false}
        suites:
          a: {kind: command, command: "true"}
          b: {kind: command, command: "true", priority: 5}
          c: {kind: command, command: "true"}
          d: {kind: command, command: "true"}
        run:
          suite_order: [d]
          pools: {}
        """,
    )
    assert [suite.name for suite in load_profile(path, environ={}).suites] == ["d", "b", "a", "c"]


def test_suite_settings_fall_back_to_run_settings(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        tests:
          unit: {enabled: false}
        suites:
          slow: {kind: command, command: make slow, timeout: 1800, retry_count: 0, pool: db}
          quick: {kind: command, command: make quick}
        run:
          timeout: 60
          retry_count: 2
          pools: {db: 1}
        """,
    )
    suites = {suite.name: suite for suite in load_profile(path, environ={}).suites}
    assert (suites["slow"].timeout, suites["slow"].retry_count, suites["slow"].pool) == (
        1800.0,
        0,
        "db",
    )
    assert (suites["quick"].timeout, suites["quick"].retry_count) == (60.0, 2)


def test_checksum_changes_with_the_file(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "tests: {unit: {enabled: false}}\n")
    first = load_profile(path, environ={}).checksum
    path.write_text("tests: {unit: {enabled: false}}\nrun: {parallel: true}\n", encoding="utf-8")
    second = load_profile(path, environ={}).checksum
    assert len(first) == 64
    assert first != second


def test_sections_with_everything_commented_out_mean_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    path = write_profile(
        tmp_path,
        """
        project:
          # name: shop
        tests:
          # unit: {path: tests}
        suites:
          # lint: {kind: command, command: ruff check}
        run:
        """,
    )
    loaded = load_profile(path, environ={"QAAGENT_PARALLEL": "true"})
    assert loaded.profile.suites == {}
    assert loaded.profile.run.parallel is True
    assert [suite.name for suite in loaded.suites] == ["unit"]


def test_the_backend_comes_from_the_command_line_then_its_variables_then_the_profile() -> None:
    profile = BackendSettings(kind="dask", scheduler="tcp://profile:8786", workers=3)
    environ = {"QAAGENT_DASK_SCHEDULER": "tcp://env:8786"}
    assert chosen_backend(profile, {}, environ).scheduler == "tcp://env:8786"
    given = {"backend": "dask-local", "dask_workers": 2}
    assert chosen_backend(profile, given, environ) == BackendSettings(
        kind="dask-local", scheduler="tcp://env:8786", workers=2
    )


def test_a_dask_backend_without_a_scheduler_or_an_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--scheduler tcp://host:8786, QAAGENT_DASK_SCHEDULER"):
        chosen_backend(BackendSettings(), {"backend": "dask"}, {})
    with pytest.raises(ConfigError, match="kind 'dusk' cannot be used"):
        chosen_backend(BackendSettings(), {"backend": "dusk"}, {})
