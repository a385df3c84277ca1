"""`qaagent schema` prints draft-07, what yaml-language-server reads."""

import json

import jsonschema
import pytest

from qaagent.commands.schema_cmd import DRAFT_07, draft07, schema


def test_the_printed_schema_is_a_valid_draft_07_schema(capsys: pytest.CaptureFixture[str]) -> None:
    schema()
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft7Validator.check_schema(document)
    assert document["$schema"] == DRAFT_07
    assert "$defs" not in document
    text = json.dumps(document)
    assert "#/$defs/" not in text
    assert '"#/definitions/SuiteConfig"' in text


def test_definitions_refs_and_tuples_are_rewritten() -> None:
    converted = draft07(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "properties": {
                "pair": {"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
                "run": {"$ref": "#/$defs/Run", "description": "How to run."},
            },
            "$defs": {"Run": {"properties": {"next": {"$ref": "#/$defs/Run"}}}},
        }
    )
    jsonschema.Draft7Validator.check_schema(converted)
    assert converted["$schema"] == DRAFT_07
    assert converted["properties"]["pair"] == {
        "items": [{"type": "string"}, {"type": "integer"}],
        "additionalItems": False,
    }
    assert converted["properties"]["run"] == {
        "allOf": [{"$ref": "#/definitions/Run"}],
        "description": "How to run.",
    }
    assert converted["definitions"]["Run"]["properties"]["next"] == {"$ref": "#/definitions/Run"}
    validator = jsonschema.Draft7Validator(converted)
    assert not list(validator.iter_errors({"pair": ["a", 1]}))
    assert list(validator.iter_errors({"pair": ["a", 1, 2]}))
