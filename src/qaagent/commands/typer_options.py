"""Typer options and command parameters built from the declarations of `qaagent.options`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer

from qaagent.options import Opt

Command = TypeVar("Command", bound=Callable[..., None])


def typer_option(opt: Opt) -> Any:
    """The option as Typer declares it inside `Annotated`: flags, metavar, bound and help."""
    return typer.Option(*opt.flags, metavar=opt.metavar, min=opt.min, help=opt.help)


def parameter(opt: Opt) -> inspect.Parameter:
    """The command's keyword parameter for one option, typed for Typer to parse and show."""
    value_type: Any = opt.value_type
    if opt.repeatable:
        value_type = list[value_type]
    if opt.cli_default is None:
        value_type = value_type | None
    return inspect.Parameter(
        opt.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=opt.cli_default,
        annotation=Annotated[value_type, typer_option(opt)],
    )


def with_options(options: Sequence[Opt]) -> Callable[[Command], Command]:
    """Give a command taking `ctx` and `**given` one parameter per option.

    Typer reads a command's parameters from `inspect.signature`, which honours `__signature__`.
    """

    def declare(command: Command) -> Command:
        context = inspect.Parameter(
            "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
        )
        signature = inspect.Signature([context, *map(parameter, options)])
        vars(command)["__signature__"] = signature
        return command

    return declare
