"""The run settings declared once: the run-all parser, the profile model and provenance agree."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from qaagent.cli import app
from qaagent.config.models import RunSettings
from qaagent.options import RUN_OPTIONS, Opt, option, source_of, to_argv

FLAGGED = [opt for opt in RUN_OPTIONS if opt.flag is not None]
SAMPLES: dict[str, list[object]] = {
    "parallel": [True, False],
    "max_workers": [3],
    "retry_count": [0, 2],
    "timeout": [90.5],
    "fail_fast": [True, False],
    "max_failures": [7],
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
    scalars = set(RunSettings.model_fields) - {"suite_order", "pools"}
    assert {opt.name for opt in RUN_OPTIONS} == scalars


@pytest.mark.parametrize("opt", RUN_OPTIONS, ids=lambda opt: opt.name)
def test_each_options_default_is_the_profile_models(opt: Opt) -> None:
    assert opt.default == RunSettings.model_fields[opt.name].get_default(call_default_factory=True)


@pytest.mark.parametrize("opt", FLAGGED, ids=lambda opt: opt.name)
def test_each_flag_is_on_run_all_with_the_same_help(opt: Opt) -> None:
    parameter = parameter_for(opt)
    assert parameter.help == opt.help
    assert parameter.opts + parameter.secondary_opts == (opt.flag or "").split("/")


@pytest.mark.parametrize(
    ("opt", "value"),
    [(opt, value) for opt in FLAGGED for value in SAMPLES[opt.name]],
    ids=lambda item: item.name if isinstance(item, Opt) else repr(item),
)
def test_to_argv_round_trips_through_the_run_all_parser(opt: Opt, value: object) -> None:
    argv = to_argv({opt.name: value})
    assert argv
    params = parsed(argv)
    assert params[str(parameter_for(opt).name)] == value


def test_to_argv_of_every_option_at_once_is_parsed_back_whole() -> None:
    values = {name: samples[0] for name, samples in SAMPLES.items()}
    params = parsed(to_argv(values))
    assert {name: params[str(parameter_for(option(name)).name)] for name in values} == values


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
