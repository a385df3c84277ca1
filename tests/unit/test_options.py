"""The run-all options declared once: the run-all parser, the profile model and provenance agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from qaagent.cli import app
from qaagent.config.models import RunSettings
from qaagent.options import RUN_ALL_OPTIONS, RUN_OPTIONS, Opt, option, source_of, to_argv

SAMPLES: dict[str, list[object]] = {
    "config": [Path("ci/qaagent.yaml")],
    "parallel": [True, False],
    "max_workers": [3],
    "suite": [["unit"], ["api", "e2e-*"]],
    "skip": [["slow"]],
    "fail_fast": [True, False],
    "max_failures": [7],
    "timeout": [90.5],
    "run_timeout": [600.0],
    "retry_count": [0, 2],
    "env": ["staging"],
    "json": [True],
    "events": ["jsonl=events.jsonl"],
    "report": ["junit,md"],
    "last_failed": [True],
    "order": ["duration"],
    "chromium": ["/opt/chromium/chrome"],
    "part": ["2/3"],
    "durations_file": [".test_durations"],
    "plan": [Path("plan.json")],
    "backend": ["dask", "dask-local"],
    "dask_scheduler": ["tcp://scheduler:8786"],
    "dask_workers": [4],
    "no_cache": [True],
}


def run_all_command() -> TyperCommand:
    """The run-all command of the real Typer app."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    command = group.commands["run-all"]
    assert isinstance(command, TyperCommand)
    return command


def parameter_for(opt: Opt) -> TyperOption:
    """The run-all parameter that declares the option's flag."""
    assert opt.option_name is not None
    matches = [
        parameter
        for parameter in run_all_command().params
        if isinstance(parameter, TyperOption) and opt.option_name in parameter.opts
    ]
    assert matches, f"run-all has no {opt.option_name}"
    return matches[0]


def parsed(argv: list[str]) -> dict[str, Any]:
    """run-all's parameters as its real parser reads `argv`."""
    return run_all_command().make_context("run-all", argv).params


def test_the_options_are_every_scalar_of_the_run_section() -> None:
    scalars = set(RunSettings.model_fields) - {"suite_order", "pools", "backend"}
    assert {opt.name for opt in RUN_OPTIONS} == scalars


@pytest.mark.parametrize("opt", RUN_OPTIONS, ids=lambda opt: opt.name)
def test_each_options_default_is_the_profile_models(opt: Opt) -> None:
    assert opt.default == RunSettings.model_fields[opt.name].get_default(call_default_factory=True)


def test_run_all_has_exactly_the_declared_options_in_their_order() -> None:
    declared = [opt.option_name for opt in RUN_ALL_OPTIONS]
    assert [parameter.opts[0] for parameter in run_all_command().params] == declared


def test_the_run_all_options_have_names_of_their_own() -> None:
    names = [opt.name for opt in RUN_ALL_OPTIONS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("opt", RUN_ALL_OPTIONS, ids=lambda opt: opt.name)
def test_each_option_is_on_run_all_with_its_flags_metavar_bound_and_help(opt: Opt) -> None:
    parameter = parameter_for(opt)
    assert parameter.help == opt.help
    assert parameter.metavar == opt.metavar
    assert parameter.min == opt.min
    assert parameter.multiple is opt.repeatable
    assert sorted(parameter.opts + parameter.secondary_opts) == sorted(
        [*(opt.flag or "").split("/"), *([opt.short] if opt.short else [])]
    )


@pytest.mark.parametrize("opt", RUN_ALL_OPTIONS, ids=lambda opt: opt.name)
def test_an_option_left_out_is_its_default_and_a_setting_left_out_is_none(opt: Opt) -> None:
    assert parameter_for(opt).default == (None if opt in RUN_OPTIONS else opt.default)


@pytest.mark.parametrize(
    ("opt", "value"),
    [(opt, value) for opt in RUN_ALL_OPTIONS for value in SAMPLES[opt.name]],
    ids=lambda item: item.name if isinstance(item, Opt) else repr(item),
)
def test_to_argv_round_trips_through_the_run_all_parser(opt: Opt, value: object) -> None:
    argv = to_argv({opt.name: value})
    assert argv
    params = parsed(argv)
    assert params[opt.name] == value


def test_to_argv_of_every_option_at_once_is_parsed_back_whole() -> None:
    values = {name: samples[0] for name, samples in SAMPLES.items()}
    params = parsed(to_argv(values))
    assert {name: params[name] for name in values} == values


def test_to_argv_gives_a_repeatable_option_once_per_value_and_a_false_switch_nothing() -> None:
    assert to_argv({"suite": ["api", "ui"], "json": False}) == ["--suite", "api", "--suite", "ui"]


def test_to_argv_leaves_out_unset_values_and_settings_without_an_option() -> None:
    assert to_argv({"max_workers": None, "runs_dir": "elsewhere", "retry_on_attempts": 5}) == []


@pytest.mark.parametrize(
    ("cli", "environ", "profile_keys", "expected"),
    [
        ({"max_workers": 2}, {"QAAGENT_MAX_WORKERS": "3"}, {"max_workers"}, "command line"),
        ({}, {"QAAGENT_MAX_WORKERS": "3"}, {"max_workers"}, "environment QAAGENT_MAX_WORKERS"),
        ({}, {"QAAGENT_MAX_WORKERS": ""}, {"max_workers"}, "profile"),
        ({"max_workers": None}, {}, set(), "default"),
    ],
)
def test_a_value_comes_from_the_command_line_then_environment_then_profile_then_default(
    cli: dict[str, Any], environ: dict[str, str], profile_keys: set[str], expected: str
) -> None:
    assert source_of(option("max_workers"), cli, environ, profile_keys) == expected
