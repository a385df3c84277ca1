"""When the live board is used: a terminal outside CI."""

import io

import pytest
from rich.console import Console

from qaagent.reporting.console import is_interactive


@pytest.mark.parametrize(
    ("ci", "expected"),
    [(None, True), ("", True), ("false", True), ("0", True), ("true", False), ("1", False)],
)
def test_the_live_board_is_for_terminals_outside_ci(ci: str | None, expected: bool) -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True)
    environ = {} if ci is None else {"CI": ci}
    assert is_interactive(terminal, environ) is expected
    assert not is_interactive(Console(file=io.StringIO(), force_terminal=False), environ)
