"""Policy YAML to plain data, remembering the line and column of every key and value.

`yaml.safe_load` forgets positions, so a validation error could only say what
is wrong, never where. The text is composed into nodes with the safe loader
(no Python tags) and walked by hand, recording 1-based positions under each
value's path (`("rules", 0, "meeting", "duration")`). The walk also reports a
key given twice in one mapping, which YAML would silently resolve to the last.

Two YAML 1.1 surprises are undone because they bite policy authors:
`start: 09:00` would be the sexagesimal integer 540, and `no:`/`on:` keys would
be booleans. Clock-like plain scalars stay text; keys are always text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_MAX_NODES = 50_000  # refuses alias bombs long before memory suffers


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    column: int


@dataclass
class YamlDoc:
    data: Any
    values: dict[Path, Pos] = field(default_factory=dict)
    keys: dict[Path, Pos] = field(default_factory=dict)
    problems: list[tuple[Pos, str]] = field(default_factory=list)

    def position(self, loc: Sequence[object], *, key: bool = False) -> Pos:
        """The deepest recorded node along `loc` (validator markers are skipped)."""
        path: Path = ()
        for elem in loc:
            if isinstance(elem, str | int) and (*path, elem) in self.values:
                path = (*path, elem)
        if key and path in self.keys:
            return self.keys[path]
        return self.values.get(path, Pos(1, 1))

    def data_at(self, path: Sequence[str]) -> Any:
        """The loaded value at a path of mapping keys, or None where there is none."""
        value = self.data
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value


class YamlSyntaxError(Exception):
    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


def load(text: str) -> YamlDoc:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        raise YamlSyntaxError(pos, f"invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Pos(1, 1), f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    doc = YamlDoc(data=None)
    if root is not None:
        doc.data = _Walker(loader, doc).value(root, ())
    return doc


def _pos(node: yaml.Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, doc: YamlDoc) -> None:
        self.loader = loader
        self.doc = doc
        self.budget = _MAX_NODES

    def value(self, node: yaml.Node, path: Path) -> Any:
        self.doc.values[path] = _pos(node)
        self.budget -= 1
        if self.budget < 0:
            raise YamlSyntaxError(_pos(node), "the document is too large (too many aliases?)")
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.doc.problems.append((_pos(key_node), "a mapping key must be a plain name"))
                continue
            key = str(key_node.value)
            if key in result:
                first = self.doc.keys[(*path, key)]
                self.doc.problems.append(
                    (_pos(key_node), f"duplicate key {key!r} (first given at line {first.line})")
                )
                continue
            self.doc.keys[(*path, key)] = _pos(key_node)
            result[key] = self.value(value_node, (*path, key))
        return result

    def scalar(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.style is None and _CLOCK.match(node.value):
            return node.value
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise YamlSyntaxError(_pos(node), f"invalid value: {exc}") from None
