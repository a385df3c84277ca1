"""The installed `qaagent` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from qaagent_process import environment

import qaagent

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "qaagent.yaml.example"
HEAVY_MODULES = {"rich", "pydantic", "pydantic_core", "structlog", "yaml"}


def qaagent_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m qaagent` with the test's interpreter, without QAAGENT_* from the outside."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("QAAGENT_")}
    return subprocess.run(
        [sys.executable, "-m", "qaagent", *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_paragraph_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("qaagent: error: ")
    assert "Traceback" not in result.stderr
    assert "\n\n" not in result.stderr.strip()


def printed_schema(tmp_path: Path) -> dict[str, Any]:
    result = qaagent_cli("schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    schema: dict[str, Any] = json.loads(result.stdout)
    return schema


def test_version_from_module_and_console_script(tmp_path: Path) -> None:
    result = qaagent_cli("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"qaagent {qaagent.__version__}\n")
    script = Path(sys.executable).parent / "qaagent"
    installed = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (installed.returncode, installed.stdout) == (0, f"qaagent {qaagent.__version__}\n")


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_do_not_import_heavy_libraries(tmp_path: Path, argv: list[str]) -> None:
    script = (
        "import json, sys\n"
        f"sys.argv = ['qaagent', *{argv!r}]\n"
        "from qaagent.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = set(json.loads(result.stdout.splitlines()[-1]))
    assert "qaagent" in imported
    assert imported & HEAVY_MODULES == set()


def test_validate_prints_the_tasks_of_the_example_profile() -> None:
    result = qaagent_cli("validate", "--config", EXAMPLE.name, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert f"Profile {EXAMPLE} is valid (project qaagent)." in result.stdout
    task_lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[2:6]}
    assert task_lines["lint[target=src]"][:2] == ["command", "-"]
    assert task_lines["lint[target=tests]"][0] == "command"
    assert task_lines["unit"][:2] == ["pytest", "tests/unit"]
    assert task_lines["integration"][:2] == ["pytest", "tests/integration"]
    assert "1800s" in task_lines["integration"]
    assert "4 tasks from 3 suites; parallel, max 3 workers." in result.stdout
    assert "note: tests.behave: disabled in the profile" in result.stdout


def test_validate_logs_json_lines_when_asked(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "qaagent.yaml").write_text("project: {name: shop}\ntests:\n", encoding="utf-8")
    result = qaagent_cli("-v", "--log-format", "json", "validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in result.stderr.splitlines()]
    assert record["event"] == "profile loaded"
    assert record["suites"] == 1
    quiet = qaagent_cli("--log-format", "json", "validate", cwd=tmp_path)
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_bad_profile_exits_2_with_one_paragraph(tmp_path: Path) -> None:
    (tmp_path / "qaagent.yaml").write_text(
        "tests:\n  unit:\n    enabled: yes please\nrun:\n  max_worker: 2\n", encoding="utf-8"
    )
    result = qaagent_cli("validate", cwd=tmp_path)
    assert_one_paragraph_error(result)
    assert result.stderr.splitlines() == [
        "qaagent: error: qaagent.yaml has 2 problems:",
        '  tests.unit.enabled: expected a boolean (true or false), got "yes please" '
        "(qaagent.yaml, line 3)",
        "  run.max_worker: unknown key (did you mean 'max_workers'?) (qaagent.yaml, line 5)",
    ]


def test_bad_environment_value_exits_2_naming_the_variable(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "qaagent.yaml").write_text("run: {parallel: true}\n", encoding="utf-8")
    result = qaagent_cli("validate", cwd=tmp_path, env={"QAAGENT_MAX_WORKERS": "lots"})
    assert_one_paragraph_error(result)
    assert "from environment variable QAAGENT_MAX_WORKERS" in result.stderr


def test_missing_config_and_malformed_yaml_exit_2(tmp_path: Path) -> None:
    missing = qaagent_cli("validate", "--config", "nope.yaml", cwd=tmp_path)
    assert_one_paragraph_error(missing)
    assert "nope.yaml: no such profile file" in missing.stderr
    (tmp_path / "qaagent.yaml").write_text("run:\n  parallel: [true\n", encoding="utf-8")
    malformed = qaagent_cli("validate", cwd=tmp_path)
    assert_one_paragraph_error(malformed)
    assert "is not valid YAML" in malformed.stderr


def test_a_folder_or_dangling_link_in_place_of_the_profile_is_named(tmp_path: Path) -> None:
    (tmp_path / "qaagent.yaml").write_text("project: {name: outer}\n", encoding="utf-8")
    inner = tmp_path / "inner"
    (inner / "qaagent.yaml").mkdir(parents=True)
    folder = qaagent_cli("validate", cwd=inner)
    assert_one_paragraph_error(folder)
    assert f"{inner / 'qaagent.yaml'} is a folder, not a profile file" in folder.stderr
    given = qaagent_cli("validate", "--config", "inner", cwd=tmp_path)
    assert_one_paragraph_error(given)
    assert "inner is a folder; --config takes the profile file itself" in given.stderr
    dangling = tmp_path / "other"
    dangling.mkdir()
    (dangling / ".qaagent.yaml").symlink_to("gone.yaml")
    link = qaagent_cli("validate", cwd=dangling)
    assert_one_paragraph_error(link)
    assert f"{dangling / '.qaagent.yaml'} is a link to gone.yaml that cannot be followed" in (
        link.stderr
    )


def test_schema_accepts_the_example_and_rejects_unknown_keys(tmp_path: Path) -> None:
    schema = printed_schema(tmp_path)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    validator = jsonschema.Draft7Validator(schema)
    validator.check_schema(schema)
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert list(validator.iter_errors(example)) == []
    example["run"]["paralel"] = True
    [error] = validator.iter_errors(example)
    assert "paralel" in error.message


def test_schema_accepts_what_the_loader_accepts(tmp_path: Path) -> None:
    validator = jsonschema.Draft7Validator(printed_schema(tmp_path))
    profile = yaml.safe_load(
        "tests:\n"
        "  unit: {output_dir: tests/unit, enabled: true}\n"
        "suites:\n"
        "  api: {kind: command, command: make api, env: {PORT: 8000}, args: [-n, 4],"
        " matrix: {shard: [1, 2]}}\n"
        "run: {retry_count: 1, timeout: 300, suite_order: [unit], parallel: true, max_workers: 2}\n"
    )
    assert list(validator.iter_errors(profile)) == []
    assert list(validator.iter_errors({"suites": {"api": {"command": "make"}}})) != []


def test_init_enables_the_suites_it_finds_and_the_result_validates(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_x():\n    pass\n", encoding="utf-8")
    (tmp_path / "features" / "steps").mkdir(parents=True)
    (tmp_path / "playwright.config.ts").write_text("export default {};\n", encoding="utf-8")
    result = qaagent_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load((tmp_path / "qaagent.yaml").read_text(encoding="utf-8"))
    assert written["tests"]["unit"] == {"enabled": True, "path": "tests"}
    assert written["tests"]["behave"] == {"enabled": True, "path": "features"}
    assert written["tests"]["e2e"]["enabled"] is True
    validated = qaagent_cli("validate", cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    kinds = {line.split()[0]: line.split()[1] for line in validated.stdout.splitlines()[2:5]}
    assert kinds == {"unit": "pytest", "behave": "behave", "e2e": "playwright-node"}
    assert "3 tasks from 3 suites" in validated.stdout


def test_init_in_an_empty_folder_writes_a_valid_profile(tmp_path: Path) -> None:
    result = qaagent_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No test folders found" in result.stdout
    validated = qaagent_cli("validate", cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    assert "0 tasks from 0 suites" in validated.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    profile = tmp_path / "qaagent.yaml"
    profile.write_text("project: {name: mine}\n", encoding="utf-8")
    refused = qaagent_cli("init", cwd=tmp_path)
    assert_one_paragraph_error(refused)
    assert "--force" in refused.stderr
    assert profile.read_text(encoding="utf-8") == "project: {name: mine}\n"
    forced = qaagent_cli("init", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "tests:" in profile.read_text(encoding="utf-8")


def test_validate_counts_one_task_in_the_singular(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "qaagent.yaml").write_text("project: {name: shop}\ntests:\n", encoding="utf-8")
    result = qaagent_cli("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 task from 1 suite; sequential." in result.stdout
    assert "note: tests.behave: skipped, features does not exist" in result.stdout


def test_init_keeps_to_an_existing_dot_profile_instead_of_hiding_it(tmp_path: Path) -> None:
    hidden = tmp_path / ".qaagent.yaml"
    hidden.write_text("project: {name: mine}\n", encoding="utf-8")
    refused = qaagent_cli("init", cwd=tmp_path)
    assert_one_paragraph_error(refused)
    assert str(hidden) in refused.stderr
    assert not (tmp_path / "qaagent.yaml").exists()
    forced = qaagent_cli("init", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert not (tmp_path / "qaagent.yaml").exists()
    assert "tests:" in hidden.read_text(encoding="utf-8")


def test_init_where_a_folder_has_the_profile_name_is_one_paragraph(tmp_path: Path) -> None:
    (tmp_path / "qaagent.yaml").mkdir()
    result = qaagent_cli("init", "--force", cwd=tmp_path)
    assert_one_paragraph_error(result)
    assert "is a folder" in result.stderr


def test_validate_never_cuts_task_names_when_output_is_not_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "qaagent.yaml").write_text(
        "tests: {unit: {enabled: false}}\n"
        "suites:\n"
        "  evals:\n"
        "    kind: command\n"
        "    command: [run]\n"
        "    matrix: {model: [a-rather-long-model-name-v2, another-long-model-name-v3]}\n",
        encoding="utf-8",
    )
    result = qaagent_cli("validate", cwd=tmp_path, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert "evals[model=a-rather-long-model-name-v2]" in result.stdout
    assert "evals[model=another-long-model-name-v3]" in result.stdout


def test_init_finds_pytest_playwright_tests_in_an_e2e_folder(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples" / "shop", tmp_path / "shop")
    (tmp_path / "shop" / "qaagent.yaml").unlink()
    result = qaagent_cli("init", cwd=tmp_path / "shop")
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load((tmp_path / "shop" / "qaagent.yaml").read_text(encoding="utf-8"))
    assert {
        name: suite["path"] for name, suite in written["tests"].items() if suite["enabled"]
    } == {
        "unit": "tests",
        "behave": "features",
        "e2e": "e2e",
    }
    validated = qaagent_cli("validate", cwd=tmp_path / "shop")
    rows = [line.split()[:3] for line in validated.stdout.splitlines()]
    assert ["e2e", "playwright-python", "e2e"] in rows


def test_a_run_that_logs_nothing_imports_neither_structlog_nor_an_http_client(
    tmp_path: Path,
) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_one.py").write_text("def test_one():\n    pass\n")
    (tmp_path / "qaagent.yaml").write_text("project: {name: one}\ntests:\n  unit: {path: tests}\n")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "qaagent", "run-all"],
        cwd=tmp_path,
        env=environment(drop=("CI", "QAAGENT_")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "qaagent.session" in imported
    assert imported & {"structlog", "urllib.request", "http.client"} == set()
