"""`qaagent schema`: the JSON Schema of the profile, for editor completion, or of the events.

Printed as draft-07, the newest draft yaml-language-server (VS Code's YAML extension) supports;
pydantic writes 2020-12, so its `$defs` become `definitions` and its `prefixItems` tuples
become `items` lists.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def schema(
    events: Annotated[
        bool,
        typer.Option(
            "--events", help="The schema of one line of `run-all --events jsonl` instead."
        ),
    ] = False,
) -> None:
    """Print the profile's JSON Schema (use with `# yaml-language-server: $schema=...`).

    With --events, print the schema of one line of `qaagent run-all --events jsonl` instead.
    """
    import json

    document = events_schema() if events else profile_schema()
    typer.echo(json.dumps(document, indent=2))


def profile_schema() -> dict[str, Any]:
    """The profile's schema in draft-07."""
    from qaagent.config.models import QAAgentProfile

    document = draft07(QAAgentProfile.model_json_schema(by_alias=False))
    document["title"] = "qaagent profile (qaagent.yaml)"
    return document


def events_schema() -> dict[str, Any]:
    """An event's schema in draft-07, without the OpenAPI `discriminator` draft-07 lacks."""
    from qaagent.model.events import event_schema

    document = draft07(event_schema())
    document.pop("discriminator", None)
    return document


def draft07(document: dict[str, Any]) -> dict[str, Any]:
    """A 2020-12 schema as the same schema in draft-07 terms."""
    body = {key: value for key, value in document.items() if key not in ("$schema", "$defs")}
    definitions = document.get("$defs", {})
    converted: dict[str, Any] = {"$schema": DRAFT_07, **_convert(body)}
    if definitions:
        converted["definitions"] = _convert(definitions)
    return converted


def _convert(node: Any) -> Any:
    """Rewrite one schema node and everything under it."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _convert(value) for key, value in node.items()}
    if "prefixItems" in result:
        tuple_items = result.pop("prefixItems")
        rest = result.pop("items", None)
        result["items"] = tuple_items
        if rest is not None:
            result["additionalItems"] = rest
    reference = result.get("$ref")
    if isinstance(reference, str):
        result["$ref"] = reference.replace("#/$defs/", "#/definitions/", 1)
        if len(result) > 1:
            siblings = {key: value for key, value in result.items() if key != "$ref"}
            return {"allOf": [{"$ref": result["$ref"]}], **siblings}
    return result
