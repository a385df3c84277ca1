"""The profile reference in Markdown, generated from the models so the docs cannot drift."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from qaagent.config.models import (
    AppEnvironment,
    E2ESuite,
    ProjectSettings,
    QAAgentProfile,
    RunSettings,
    SuiteConfig,
)

START_MARKER = "<!-- profile-reference:start -->"
END_MARKER = "<!-- profile-reference:end -->"
SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("top level", QAAgentProfile),
    ("project", ProjectSettings),
    ("app.<environment>", AppEnvironment),
    ("tests.unit, tests.behave, tests.e2e", E2ESuite),
    ("suites.<name>", SuiteConfig),
    ("run", RunSettings),
]


def render_reference() -> str:
    """One table per profile section: key, type, default, meaning."""
    parts = []
    for title, model in SECTIONS:
        rows = [_row(name, info) for name, info in model.model_fields.items()]
        parts.append(
            f"#### `{title}`\n\n| key | type | default | meaning |\n| --- | --- | --- | --- |\n"
            + "\n".join(rows)
        )
    note = "`runner` applies to `tests.e2e` only; `kind` is required for named suites only."
    return "\n\n".join(parts) + f"\n\n{note}\n"


def replace_reference(text: str, reference: str) -> str:
    """Put `reference` between the markers of a Markdown document."""
    pattern = re.compile(re.escape(START_MARKER) + ".*?" + re.escape(END_MARKER), re.DOTALL)
    return pattern.sub(lambda _: f"{START_MARKER}\n{reference}{END_MARKER}", text)


def update_readme(readme: Path) -> bool:
    """Regenerate the reference inside README.md; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    updated = replace_reference(text, render_reference())
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


def _row(name: str, info: FieldInfo) -> str:
    key = f"`{name}`" + (" (alias `output_dir`)" if name == "path" else "")
    meaning = (
        info.description or (info.annotation.__doc__ if _is_model(info.annotation) else "")
    ) or ""
    return f"| {key} | {_type_name(info.annotation)} | {_default(info)} | {meaning.strip()} |"


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return ""
    return f"`{value!r}`".replace("'", '"') if value not in (None, [], {}) else "—"


def _type_name(annotation: Any) -> str:
    """A short, readable name of a field type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in args if arg is not type(None))
    if origin is typing.Literal:
        return " \\| ".join(f"`{arg}`" for arg in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"mapping of {_type_name(args[1])}"
    if _is_model(annotation):
        return "mapping"
    names = {str: "text", int: "integer", float: "number", bool: "boolean"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
