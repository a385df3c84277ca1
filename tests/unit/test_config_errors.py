"""Every kind of bad profile yields one readable message naming the field, the file and the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from qaagent.config.loader import load_profile
from qaagent.errors import ConfigError, ExitCode


def write_profile(folder: Path, text: str, name: str = "qaagent.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_error(path: Path, **options: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_profile(path, **options)  # type: ignore[arg-type]
    assert caught.value.exit_code is ExitCode.USAGE_ERROR
    return caught.value.message


def problem_lines(message: str) -> list[str]:
    """The per-problem lines of a message, without the header."""
    header, _, rest = message.partition("\n")
    if not rest:
        return [header.partition(" is invalid: ")[2]]
    return [line.strip() for line in rest.splitlines()]


def problem_for(message: str, field_path: str) -> str:
    matches = [line for line in problem_lines(message) if line.startswith(f"{field_path}: ")]
    assert len(matches) == 1, message
    return matches[0]


FIELD_CASES = [
    pytest.param(
        """
        # a profile with a wrong boolean
        project:
          name: shop

        tests:
          unit:
            enabled: yes please
        """,
        "tests.unit.enabled",
        7,
        'expected a boolean (true or false), got "yes please"',
        id="wrong-bool",
    ),
    pytest.param(
        """
        run:
          parallel: true
          max_workers: four
        """,
        "run.max_workers",
        3,
        'expected an integer, got "four"',
        id="wrong-int",
    ),
    pytest.param(
        """
        run:
          max_workers: yes
        """,
        "run.max_workers",
        2,
        "expected an integer, got true",
        id="bool-is-not-an-int",
    ),
    pytest.param(
        """
        run:
          timeout: 600
        suites:
          lint:
            kind: command
            command: ruff check
            timeout: -5
        """,
        "suites.lint.timeout",
        7,
        "must be > 0",
        id="negative-timeout",
    ),
    pytest.param(
        """
        run:
          timeout: .inf
        """,
        "run.timeout",
        2,
        "expected a finite number",
        id="infinite-timeout",
    ),
    pytest.param(
        """
        project:
          name: shop
        reports:
          html: true
        """,
        "reports",
        3,
        "unknown key (allowed: project, app, tests, suites, run, secrets, notify)",
        id="unknown-top-level-key",
    ),
    pytest.param(
        """
        run:
          parallel: true
          max_worker: 2
        """,
        "run.max_worker",
        3,
        "unknown key (did you mean 'max_workers'?)",
        id="unknown-nested-key",
    ),
    pytest.param(
        """
        suites:
          evals:
            kind: command
            command: ["python", "evals.py"]
            retry_cont: 2
        """,
        "suites.evals.retry_cont",
        5,
        "unknown key (did you mean 'retry_count'?)",
        id="unknown-key-in-named-suite",
    ),
    pytest.param(
        """
        suites:
          lint:
            kind: shell
            command: ruff check
        """,
        "suites.lint.kind",
        3,
        "'playwright-node' or 'command', got \"shell\"",
        id="unknown-kind",
    ),
    pytest.param(
        """
        suites:
          lint:
            command: ruff check
        """,
        "suites.lint.kind",
        2,
        "required field is missing",
        id="missing-kind",
    ),
    pytest.param(
        """
        tests:
          unit:
            path: tests
            enabled: false
            path: test
        """,
        "tests.unit.path",
        5,
        "key appears twice",
        id="duplicate-key",
    ),
    pytest.param(
        """
        suites:
          lint:
            kind: command
            command: ruff check
        run:
          suite_order: [lint, integration]
        """,
        "run.suite_order[1]",
        6,
        "unknown suite 'integration' (known: behave, e2e, lint, unit)",
        id="suite-order-unknown-suite",
    ),
    pytest.param(
        """
        suites:
          evals:
            kind: command
            command: python evals.py
            pool: llm-api
        run:
          pools: {browsers: 1}
        """,
        "suites.evals.pool",
        5,
        "unknown pool 'llm-api' (declare it under run.pools)",
        id="undeclared-pool",
    ),
    pytest.param(
        """
        suites:
          smoke:
            kind: command
            args: [--fast]
        """,
        "suites.smoke.kind",
        3,
        "a command suite needs a 'command'",
        id="command-suite-without-command",
    ),
    pytest.param(
        """
        suites:
          unit:
            kind: pytest
            path: tests
        """,
        "suites.unit",
        2,
        "'unit' is a built-in suite; configure it under tests.unit",
        id="named-suite-called-unit",
    ),
    pytest.param(
        """
        run:
          pools: [llm]
        """,
        "run.pools",
        2,
        'expected a mapping, got ["llm"]',
        id="list-where-mapping-expected",
    ),
    pytest.param(
        """
        tests:
          unit:
            split: 0
        """,
        "tests.unit.split",
        3,
        "expected 'auto' or a number > 0, got 0",
        id="split-zero-names-both-alternatives",
    ),
    pytest.param(
        """
        tests:
          unit:
            split: many
        """,
        "tests.unit.split",
        3,
        "expected 'auto' or an integer, got \"many\"",
        id="split-word-names-both-alternatives",
    ),
    pytest.param(
        """
        suites:
          api:
            kind: command
            command: [python, api.py]
            retry_on: ["HTTP (429"]
        """,
        "suites.api.retry_on[0]",
        5,
        "retry_on[0]: invalid regular expression 'HTTP (429': missing ), ",
        id="bad-regular-expression-without-pydantic-prefix",
    ),
    pytest.param(
        """
        suites:
          lint:
            kind: command
            command: ruff check --select "E501
        """,
        "suites.lint.command",
        4,
        "cannot be split into words as a shell would (No closing quotation)",
        id="command-with-unclosed-quote",
    ),
    pytest.param(
        """
        app:
          local:
            base_url: http://127.0.0.1:8000
            start_command: python -m 'shop
        """,
        "app.local.start_command",
        4,
        "cannot be split into words as a shell would (No closing quotation)",
        id="app-start-command-with-unclosed-quote",
    ),
    pytest.param(
        """
        suites:
          lint:
            kind: command
            command: []
        """,
        "suites.lint.command",
        4,
        "names no program to run, got []",
        id="empty-command",
    ),
    pytest.param(
        """
        suites:
          evals:
            kind: command
            command: [python, evals.py]
            matrix:
              model: []
        """,
        "suites.evals.matrix.model",
        6,
        "lists no values, so the suite would have no task, got []",
        id="empty-matrix-axis",
    ),
    pytest.param(
        """
        suites:
          evals:
            kind: command
            command: [python, evals.py, "{model}"]
            matrix:
              model: [small, "lar\\0ge"]
        """,
        "suites.evals.matrix.model[1]",
        6,
        "contains a NUL character",
        id="nul-in-matrix-value",
    ),
    pytest.param(
        f"""
        suites:
          evals:
            kind: command
            command: [python, evals.py, "{{model}}"]
            matrix:
              lang: [en, de]
              model:
                - small
                - {"x" * 500}
        """,
        "suites.evals.matrix.model[1]",
        9,
        "makes task folder names of up to 530 bytes, over the 255 a folder name may have",
        id="matrix-value-too-long-for-a-folder",
    ),
    pytest.param(
        f"""
        suites:
          {"s" * 250}:
            kind: command
            command: [python, evals.py]
        """,
        "suites." + "s" * 250,
        2,
        "makes task folder names of up to 259 bytes",
        id="suite-name-too-long-for-a-folder",
    ),
    pytest.param(
        """
        suites:
          small:
            kind: command
            command: [python, evals.py]
            matrix: {a: [1, 2, 3]}
          huge:
            kind: command
            command: [python, evals.py]
            matrix:
              a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
              b: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
              c: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
              d: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        """,
        "suites.huge.matrix",
        9,
        "makes 10,000 tasks, 10,003 with the other suites; a profile may expand to at most 10,000",
        id="too-many-tasks",
    ),
]


@pytest.mark.parametrize(("text", "field_path", "line", "phrase"), FIELD_CASES)
def test_bad_field_is_named_with_its_line(
    tmp_path: Path, text: str, field_path: str, line: int, phrase: str
) -> None:
    message = load_error(write_profile(tmp_path, text))
    problem = problem_for(message, field_path)
    assert phrase in problem
    assert problem.endswith(f"(qaagent.yaml, line {line})")


def test_message_reads_as_documented(tmp_path: Path) -> None:
    path = write_profile(tmp_path, FIELD_CASES[0].values[0])  # type: ignore[arg-type]
    assert load_error(path) == (
        "qaagent.yaml is invalid: tests.unit.enabled: expected a boolean (true or false), "
        'got "yes please" (qaagent.yaml, line 7)'
    )


def test_malformed_yaml_names_the_line_of_the_error(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        project:
          name: shop
          description: runs: everything
        """,
    )
    message = load_error(path)
    assert message.startswith("qaagent.yaml is not valid YAML: ")
    assert "mapping values are not allowed" in message
    assert "(qaagent.yaml, line 3)" in message


def test_unclosed_list_is_reported_as_yaml_error(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        run:
          suite_order: [unit, behave
          parallel: true
        """,
    )
    message = load_error(path)
    assert "not valid YAML" in message
    assert "line 3" in message


@pytest.mark.parametrize("text", ["- unit\n- behave\n", "just some text\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    message = load_error(write_profile(tmp_path, text))
    assert message == "qaagent.yaml: the profile must be a mapping of sections (line 1)."


def test_explicitly_enabled_suite_with_missing_path_is_an_error(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        tests:
          behave:
            enabled: true
          e2e:
            enabled: true
            path: browser-tests
        """,
    )
    message = load_error(path)
    assert problem_for(message, "tests.behave.enabled") == (
        "tests.behave.enabled: features does not exist (qaagent.yaml, line 3)"
    )
    assert problem_for(message, "tests.e2e.path") == (
        "tests.e2e.path: browser-tests does not exist (qaagent.yaml, line 6)"
    )


def test_named_suite_with_missing_path_is_an_error(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        suites:
          integration:
            kind: pytest
            path: tests/integration
        """,
    )
    problem = problem_for(load_error(path), "suites.integration.path")
    assert (
        problem
        == "suites.integration.path: tests/integration does not exist (qaagent.yaml, line 4)"
    )


def test_default_suite_with_missing_path_is_a_notice_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    path = write_profile(tmp_path, "project: {name: shop}\ntests:\n")
    loaded = load_profile(path)
    assert [suite.name for suite in loaded.suites] == ["unit"]
    assert loaded.notices == [
        "tests.behave: skipped, features does not exist",
        "tests.e2e: skipped, e2e does not exist",
    ]


def test_every_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        tests:
          unit:
            enabled: maybe
        suites:
          lint:
            kind: shell
        run:
          parallel: sometimes
          max_workers: 0
          colour: blue
        """,
    )
    message = load_error(path)
    assert message.startswith("qaagent.yaml has 5 problems:\n")
    assert [line.split(":")[0] for line in problem_lines(message)] == [
        "tests.unit.enabled",
        "suites.lint.kind",
        "run.parallel",
        "run.max_workers",
        "run.colour",
    ]
    assert problem_for(message, "run.max_workers").endswith("(qaagent.yaml, line 9)")
    assert problem_for(message, "run.colour").endswith("(qaagent.yaml, line 10)")


def test_every_reference_problem_is_reported(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        """
        suites:
          smoke:
            kind: command
            pool: fast
        run:
          suite_order: [smoke, nightly]
        """,
    )
    lines = problem_lines(load_error(path))
    assert len(lines) == 3
    assert {line.split(":")[0] for line in lines} == {
        "run.suite_order[1]",
        "suites.smoke.kind",
        "suites.smoke.pool",
    }


def test_bad_environment_override_names_the_variable(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "run:\n  timeout: 60\n")
    message = load_error(path, environ={"QAAGENT_TIMEOUT": "soon", "QAAGENT_PARALLEL": "perhaps"})
    assert problem_for(message, "run.timeout") == (
        'run.timeout: expected a number, got "soon" (from environment variable QAAGENT_TIMEOUT)'
    )
    assert "(from environment variable QAAGENT_PARALLEL)" in problem_for(message, "run.parallel")


def test_bad_command_line_override_names_the_option(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "run: {}\n")
    message = load_error(path, environ={}, cli_overrides={"max_workers": 0})
    assert problem_for(message, "run.max_workers") == (
        "run.max_workers: must be > 0, got 0 (from option --max-workers)"
    )


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    message = load_error(Path("missing.yaml"), start=tmp_path)
    assert message == "missing.yaml: no such profile file (given with --config)."


def test_no_profile_up_the_tree_says_how_to_make_one(tmp_path: Path) -> None:
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    if any((folder / "qaagent.yaml").exists() for folder in start.parents):
        pytest.skip("a qaagent.yaml exists above the temporary folder")
    with pytest.raises(ConfigError) as caught:
        load_profile(start=start)
    message = caught.value.message
    assert message.startswith(f"No qaagent.yaml or .qaagent.yaml in {start} or any parent folder.")
    assert "qaagent init" in message
    assert "--config PATH" in message


def test_profile_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "qaagent.yaml"
    path.write_bytes(b"project:\n  name: caf\xe9\n")
    assert load_error(path) == "qaagent.yaml: not UTF-8 text (line 2)."


def test_empty_unknown_section_is_still_unknown(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "project: {name: shop}\nreports:\n")
    assert problem_for(load_error(path), "reports").startswith("reports: unknown key")


def test_split_on_a_suite_that_cannot_be_split_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    path = write_profile(
        tmp_path,
        """
        tests:
          unit: {enabled: false}
        suites:
          lint:
            kind: command
            command: "true"
            split: 2
          fast:
            kind: pytest
            path: checks
            split: auto
        """,
    )
    message = load_error(path)
    problem = problem_for(message, "suites.lint.split")
    assert "pytest and Playwright" in problem
    assert "line 7" in problem
    assert "suites.fast" not in message


def test_split_must_be_auto_or_a_positive_number(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    path = write_profile(tmp_path, "tests:\n  unit:\n    split: 0\n")
    assert "tests.unit.split" in load_error(path)


def test_a_cache_input_outside_the_profiles_folder_names_its_suite_and_line(
    tmp_path: Path,
) -> None:
    path = write_profile(
        tmp_path,
        """
        suites:
          api:
            kind: pytest
            cache: true
            inputs: ["src/**/*.py", "../secrets/*"]
        """,
    )
    message = load_error(path)
    assert "qaagent.yaml" in message and "line 5" in message
    problem = problem_for(message, "suites.api.inputs[1]")
    assert "must be a glob below the profile's folder" in problem and "../secrets/*" in problem
