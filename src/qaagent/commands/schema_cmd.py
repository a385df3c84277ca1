"""`qaagent schema`: the JSON Schema of the profile, for editor completion."""

from __future__ import annotations

import typer


def schema() -> None:
    """Print the profile's JSON Schema (use with `# yaml-language-server: $schema=...`)."""
    import json

    from qaagent.config.models import QAAgentProfile

    document = QAAgentProfile.model_json_schema(by_alias=False)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "qaagent profile (qaagent.yaml)"
    typer.echo(json.dumps(document, indent=2))
