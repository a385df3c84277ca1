"""YAML reading that remembers where every key and item stands, for errors that name a line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Location = tuple[str | int, ...]
MAX_EXPANDED_NODES = 100_000

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,misc,unused-ignore]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


@dataclass
class YamlDocument:
    """Parsed data plus the line of every mapping key and sequence item."""

    data: Any
    lines: dict[Location, int] = field(default_factory=dict)
    duplicates: list[tuple[Location, int]] = field(default_factory=list)

    def line_of(self, location: Location) -> int | None:
        """Line of the deepest part of `location` that the document has."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(location[:end])
            if line is not None:
                return line
        return None


class YamlSyntaxError(Exception):
    """The text is not valid YAML."""

    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


class YamlExpansionError(YamlSyntaxError):
    """Valid YAML whose aliases would make it too large (or endless) to read."""


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document; an empty file is an empty mapping."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            check_expansion(node)
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise YamlSyntaxError(problem or "invalid YAML", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(str(error), None) from None
    finally:
        loader.dispose()
    document = YamlDocument(data=data, lines={(): 1})
    if node is not None:
        _index(node, (), document)
    return document


def check_expansion(root: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> None:
    """Refuse a document whose aliases expand it past `limit` nodes, before anything expands it.

    Aliases share the node they name, so the sizes are summed once per node, in time and
    memory linear in the text; a billion-laughs profile is refused in milliseconds.
    """
    sizes: dict[int, int] = {}
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while pending:
        node, children_done = pending.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not children_done:
            if id(node) in open_nodes:
                raise YamlExpansionError("an alias refers to a node that contains it", _line(node))
            open_nodes.add(id(node))
            pending.append((node, True))
            pending.extend((child, False) for child in reversed(children))
            continue
        open_nodes.discard(id(node))
        sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
        if sizes[id(node)] > limit:
            raise YamlExpansionError(
                f"its aliases expand it past {limit:,} values, the most a profile may hold",
                _line(node),
            )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _index(node: yaml.Node, location: Location, document: YamlDocument) -> None:
    """Record the line of every key and item below `node`."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*location, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                document.duplicates.append((child, line))
            seen.add(key)
            document.lines[child] = line
            _index(value_node, child, document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*location, index)
            document.lines[child] = item.start_mark.line + 1
            _index(item, child, document)
