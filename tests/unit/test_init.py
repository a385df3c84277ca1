"""The profile `qaagent init` writes: valid YAML whatever the folder is called."""

from pathlib import Path

import pytest
import yaml

from qaagent.commands.init_cmd import (
    FoundSuite,
    PytestConfig,
    discover_suites,
    pytest_config,
    render_profile,
)


@pytest.mark.parametrize("folder", ["2024", "yes", "null", "a: b", "#team", "[x]", "*star", "it's"])
def test_the_project_name_is_the_folder_name_whatever_yaml_would_make_of_it(folder: str) -> None:
    written = yaml.safe_load(render_profile(folder, {}))
    assert written["project"]["name"] == folder


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "chosen"),
    [
        ({"pytest.ini": "", "pyproject.toml": "[tool.pytest.ini_options]\n"}, "pytest.ini"),
        ({"pyproject.toml": "[project]\n", "tox.ini": "[pytest]\n"}, "tox.ini"),
        (
            {"pyproject.toml": "[tool.pytest.ini_options]\n", "tox.ini": "[pytest]\n"},
            "pyproject.toml",
        ),
        ({"tox.ini": "[tox]\n", "setup.cfg": "[tool:pytest]\n"}, "setup.cfg"),
        ({"tox.ini": "[tox]\n", "setup.cfg": "[metadata]\n"}, None),
    ],
)
def test_pytest_configuration_is_found_where_pytest_finds_it(
    tmp_path: Path, files: dict[str, str], chosen: str | None
) -> None:
    config = pytest_config(write(tmp_path, files))
    assert (config.file if config else None) == chosen


def test_testpaths_python_files_and_doctest_modules_are_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "setup.cfg": "[tool:pytest]\ntestpaths = src\n  docs\n"
            "python_files = check_*.py\naddopts = -ra --doctest-modules\n"
        },
    )
    assert pytest_config(tmp_path) == PytestConfig(
        file="setup.cfg",
        testpaths=("src", "docs"),
        python_files=("check_*.py",),
        doctest_modules=True,
    )


def test_testpaths_become_the_path_and_arguments_and_missing_ones_are_dropped(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\ntestpaths = src missing lib*\n"})
    for folder in ("src", "lib_a", "lib_b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "test_x.py").write_text("", encoding="utf-8")
    assert discover_suites(tmp_path)["unit"] == FoundSuite(
        "src", ("lib_a", "lib_b"), "testpaths of pytest.ini"
    )


def test_a_pytest_playwright_folder_inside_the_unit_folder_is_left_to_e2e(tmp_path: Path) -> None:
    (tmp_path / "tests" / "e2e").mkdir(parents=True)
    (tmp_path / "tests" / "test_a.py").write_text("", encoding="utf-8")
    (tmp_path / "tests" / "e2e" / "test_b.py").write_text("", encoding="utf-8")
    found = discover_suites(tmp_path)
    assert found["unit"] == FoundSuite("tests", ("--ignore=tests/e2e",))
    assert found["e2e"] == FoundSuite("tests/e2e")
    written = yaml.safe_load(render_profile("p", found))
    assert written["tests"]["unit"]["args"] == ["--ignore=tests/e2e"]


def test_a_configuration_without_test_files_enables_no_pytest_suite(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\n"})
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "module.py").write_text("", encoding="utf-8")
    assert "unit" not in discover_suites(tmp_path)
