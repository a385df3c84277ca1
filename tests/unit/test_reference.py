"""The profile reference in README.md matches the models."""

from pathlib import Path

import pytest

from qaagent.config.loader import load_profile
from qaagent.config.models import RunSettings, SuiteConfig
from qaagent.config.reference import END_MARKER, START_MARKER, render_reference, replace_reference
from qaagent.errors import ConfigError

README = Path(__file__).parents[2] / "README.md"


def test_readme_reference_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert replace_reference(text, render_reference()) == text, "run `make docs`"


def test_reference_lists_every_field_of_every_section() -> None:
    reference = render_reference()
    for name in [*RunSettings.model_fields, *SuiteConfig.model_fields]:
        assert f"| `{name}`" in reference


def test_replace_reference_only_touches_the_marked_part() -> None:
    text = f"before\n{START_MARKER}\nold\n{END_MARKER}\nafter\n"
    assert replace_reference(text, "new\n") == f"before\n{START_MARKER}\nnew\n{END_MARKER}\nafter\n"


def test_named_suites_document_that_their_path_must_exist_when_enabled_is_unset(
    tmp_path: Path,
) -> None:
    reference = render_reference()
    named = reference[reference.index("#### `suites.<name>`") :]
    enabled_row = next(line for line in named.splitlines() if line.startswith("| `enabled`"))
    assert "true or unset: run (its path, when given, must exist)" in enabled_row
    (tmp_path / "qaagent.yaml").write_text(
        "suites: {api: {kind: pytest, path: missing}}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"suites\.api\.path: missing does not exist"):
        load_profile(tmp_path / "qaagent.yaml")
