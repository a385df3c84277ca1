"""The `qaagent` command line: a thin Typer shell whose commands import their work lazily."""

from __future__ import annotations

import io
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from qaagent import __version__
from qaagent.commands import (
    LogFormat,
    durations_cmd,
    executions_cmd,
    global_options,
    init_cmd,
    list_cmd,
    merge_cmd,
    plan_cmd,
    report_cmd,
    run_cmd,
    run_support,
    runs_cmd,
    schema_cmd,
    serve_cmd,
    submit_cmd,
    validate_cmd,
    verify_cmd,
)
from qaagent.errors import ExitCode, QAAgentError

app = typer.Typer(
    name="qaagent",
    help="Run every test suite of a repository, retry what failed, and keep the evidence.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class PassThroughCommand(TyperCommand):
    """A command whose arguments after `--` are for the tools it runs, left in `ctx.args`.

    Options before `--` are parsed as usual, so an unknown one is still a usage error.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse the options before `--`; keep everything after it for the tools."""
        if "--" not in args:
            return super().parse_args(ctx, args)
        split = args.index("--")
        super().parse_args(ctx, args[:split])
        ctx.args = args[split + 1 :]
        return list(ctx.args)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line shows where the tools' arguments go."""
        return [*super().collect_usage_pieces(ctx), "[-- TOOL ARGS...]"]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"qaagent {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    quiet: Annotated[int, typer.Option("--quiet", "-q", count=True, help="Less log output.")] = 0,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="Log lines on stderr as text or JSON.")
    ] = LogFormat.text,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Global options; logging is configured only when a command needs it."""
    global_options.verbosity = verbose - quiet
    global_options.log_format = log_format


app.command("validate")(validate_cmd.validate)
app.command("schema")(schema_cmd.schema)
app.command("init")(init_cmd.init)
app.add_typer(runs_cmd.app, name="runs")
app.command("report")(report_cmd.report)
app.command("verify")(verify_cmd.verify)
app.command("run-all", cls=PassThroughCommand)(run_cmd.run_all)
app.command("list", cls=PassThroughCommand)(list_cmd.list_tests)
app.command("plan")(plan_cmd.plan)
app.command("merge")(merge_cmd.merge)
app.add_typer(durations_cmd.app, name="durations")
app.command("serve")(serve_cmd.serve)
app.command("submit")(submit_cmd.submit)
app.add_typer(executions_cmd.app, name="executions")


def lenient_console() -> None:
    """Print what the console's encoding can show and replace the rest, never crash on it.

    An ASCII or Latin-1 console (`LANG=C`, `PYTHONIOENCODING=ascii`) cannot show `──` or a
    test's non-ASCII output; a run must still finish and write its evidence.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def main() -> None:
    """Entry point: user errors become one paragraph on stderr and their exit code.

    Anything unexpected (a full disk, a vanished folder, a bug) is an infrastructure error:
    one paragraph on stderr and exit code 3, the traceback only in the debug log.
    """
    lenient_console()
    try:
        run_support.working_folder()
        app(prog_name="qaagent")
    except QAAgentError as error:
        typer.echo(f"qaagent: error: {error.message}", err=True)
        sys.exit(int(error.exit_code))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as error:
        typer.echo(f"qaagent: error: {unexpected_error_message(error)}", err=True)
        sys.exit(int(ExitCode.INFRASTRUCTURE_ERROR))


def unexpected_error_message(error: Exception) -> str:
    """One paragraph for an exception qaagent did not expect; its traceback goes to the debug log."""
    from qaagent.commands import setup_logging
    from qaagent.logging import get_logger

    setup_logging()
    get_logger(__name__).debug("unexpected error", exc_info=error)
    return (
        f"qaagent stopped on an unexpected {type(error).__name__}: {error}. This is an "
        "infrastructure error (exit code 3), not a test failure; run with -vv to log the traceback."
    )
