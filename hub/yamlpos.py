"""YAML loading that remembers where every value came from: the one such module.

Both the configuration loader (`hub.config`) and the policy loader (`hub.policy`)
read their files through `load_yaml`; it imports nothing of pmhub, so the pure
policy layer may use it.

PyYAML's `safe_load` returns plain dicts and lists and forgets positions, so a
validation error could only say *what* is wrong, never *where*. Here the text
is composed into nodes (safe loader only: no Python tags, ever) and walked by
hand, recording the line/column of every key and value under its path
(`("sources", "pagerduty", "webhook_secrets", 0)`), so a later validation error
can be pointed at the exact spot in the file.

The walk also catches what `safe_load` lets through silently, each at its
line and column:

* a key repeated in one mapping (YAML keeps the last one without a word);
* tags other than the plain core-schema ones (`!!binary`, `!!set`, `!foo`,
  `!!python/...`);
* recursive aliases (an ancestry set), alias bombs (a bounded node budget) and
  nesting deeper than `MAX_DEPTH` (counted while composing, so a document of
  thousands of `[` is refused before Python's recursion limit is near).

Two YAML 1.1 surprises are undone because they bite people writing these files:
mapping keys are always their literal text (`no:` or `1:` is a name, not a
boolean or an integer), and a clock-like plain scalar (`start: 9:00`) stays text
rather than becoming the base-60 integer 540.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import yaml

PathElem = str | int
YamlPath = tuple[PathElem, ...]
NodeKind = Literal["mapping", "sequence", "scalar"]

# Generous for a configuration file, small enough that an alias bomb or a
# pathological nesting is refused in milliseconds instead of eating memory.
MAX_NODES = 100_000
MAX_DEPTH = 64
TOO_DEEP = f"the document is nested too deeply (more than {MAX_DEPTH} levels)"

_CORE = "tag:yaml.org,2002:"
_MERGE_TAG = _CORE + "merge"
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")


class _ZeroBased(Protocol):
    """A position as PyYAML counts it (its pure-Python and C marks alike)."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based line and column, as editors and compilers print them."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: _ZeroBased) -> Mark:
        return cls(mark.line + 1, mark.column + 1)


@dataclass(frozen=True, slots=True)
class Located:
    """Where one value sits: its key (for a mapping entry) and the value itself."""

    key: Mark
    value: Mark
    kind: NodeKind


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """Something wrong that YAML itself would not complain about.

    `invalidates` means the value at `path` was replaced by a stand-in, so any
    later complaint about that value would only repeat this one.
    """

    path: YamlPath
    mark: Mark
    message: str
    invalidates: bool = True


class YamlSyntaxError(Exception):
    """The text is not one well-formed YAML document; nothing could be loaded."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(f"{mark.line}:{mark.column}: {message}")
        self.mark = mark
        self.message = message


class ScalarError(Exception):
    """Raised by a string hook to reject a scalar; one message per problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


StringHook = Callable[[str], str]


@dataclass
class YamlDocument:
    """The loaded data, the position of every value, and the problems found."""

    data: Any
    positions: dict[YamlPath, Located] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)
    # Values the string hook changed (e.g. filled in from the environment):
    # their text is not in the file, so messages must not show it.
    rewritten: set[YamlPath] = field(default_factory=set)

    def position(self, loc: Sequence[object], *, key: bool = False) -> Mark:
        """Where the node along `loc` is (see `locate`): its key, or its value."""
        located = self.locate(loc)[1]
        return located.key if key else located.value

    def data_at(self, path: Sequence[str]) -> Any:
        """The loaded value at a path of mapping keys, or None where there is none."""
        value = self.data
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    def locate(self, loc: Sequence[object]) -> tuple[YamlPath, Located]:
        """The deepest known node along `loc`, and the path that reaches it.

        Elements that name no node are skipped rather than ending the walk:
        validators insert their own markers into error paths (union branch
        names, `[key]`), and a missing key names a node that does not exist,
        in which case the parent is the right place to point at.
        """
        path: YamlPath = ()
        for elem in loc:
            if isinstance(elem, str | int) and (*path, elem) in self.positions:
                path = (*path, elem)
        return path, self.positions[path]


def load_yaml(text: str, *, on_string: StringHook | None = None) -> YamlDocument:
    """Load one YAML document, keeping positions. Raises `YamlSyntaxError`.

    `on_string` is applied to every string scalar (not to keys); it may raise
    `ScalarError`, which is recorded as a problem at that scalar.
    """
    loader = _new_loader(text)
    try:
        root = _compose(loader)
        if root is None:
            return YamlDocument(
                data=None, positions={(): Located(Mark(1, 1), Mark(1, 1), "scalar")}
            )
        return _Walker(loader, on_string).run(root)
    except RecursionError:  # not expected past the depth guards; refused all the same
        raise YamlSyntaxError(Mark.of(loader.get_mark()), TOO_DEEP) from None
    finally:
        loader.dispose()


class _Loader(yaml.SafeLoader):
    """SafeLoader whose constructor is used only for core-schema scalars.

    Composing counts the depth (PyYAML composes recursively, so a document of
    thousands of `[` would otherwise hit Python's recursion limit) and notes where
    each alias is used: the node an alias resolves to carries its anchor's
    position, but a problem with the value belongs where the alias stands.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        # (id of the parent node, index or id of the key node) -> where the alias is
        self.alias_marks: dict[tuple[int, int], Mark] = {}

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        here = Mark.of(event.start_mark or self.get_mark())
        if self.depth > MAX_DEPTH:
            raise YamlSyntaxError(here, TOO_DEEP)
        if isinstance(event, yaml.AliasEvent) and parent is not None:
            slot = index if isinstance(index, int) else id(index)
            self.alias_marks[(id(parent), slot)] = here
        self.depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self.depth -= 1

    def alias_mark(self, parent: yaml.Node, slot: int | yaml.Node) -> Mark | None:
        """Where the alias stands that put a value into `parent` at `slot`, if one did."""
        return self.alias_marks.get((id(parent), slot if isinstance(slot, int) else id(slot)))


def _new_loader(text: str) -> _Loader:
    # The reader vets every character of a str up front, so a control
    # character is refused here, before any parsing, with only an offset.
    try:
        return _Loader(text)
    except yaml.reader.ReaderError as exc:
        where = _mark_at_offset(text, exc.position)
        message = f"invalid YAML: character U+{exc.character:04X} is not allowed"
        raise YamlSyntaxError(where, message) from None


def _compose(loader: _Loader) -> yaml.Node | None:
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark.of(mark) if mark is not None else Mark(1, 1)
        raise YamlSyntaxError(where, _syntax_message(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Mark(1, 1), f"invalid YAML: {exc}") from None


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "invalid YAML"
    if exc.context:
        return f"invalid YAML: {problem} ({exc.context})"
    return f"invalid YAML: {problem}"


def _mark_at_offset(text: str, offset: int) -> Mark:
    line_start = text.rfind("\n", 0, offset) + 1
    return Mark(text.count("\n", 0, offset) + 1, offset - line_start + 1)


_SCALAR_TAGS = {_CORE + name for name in ("str", "null", "bool", "int", "float", "timestamp")}


class _Walker:
    """Turns a node tree into plain data, recording positions and problems."""

    def __init__(self, loader: _Loader, on_string: StringHook | None) -> None:
        self.loader = loader
        self.on_string = on_string
        self.doc = YamlDocument(data=None)
        self.budget = MAX_NODES
        self.ancestors: set[int] = set()

    def run(self, root: yaml.Node) -> YamlDocument:
        here = Mark.of(root.start_mark)
        self.doc.data = self.value(root, (), Located(here, here, _kind(root)))
        return self.doc

    def value(self, node: yaml.Node, path: YamlPath, where: Located) -> Any:
        self.doc.positions[path] = where
        self.budget -= 1
        if self.budget < 0:
            raise YamlSyntaxError(where.value, "the document is too large (too many aliases?)")
        if len(path) > MAX_DEPTH:  # deep through aliases, each shallow where it stands
            raise YamlSyntaxError(where.value, TOO_DEEP)
        if id(node) in self.ancestors:
            return self.problem(path, where.value, "an alias refers to a value that contains it")
        self.ancestors.add(id(node))
        try:
            return self.dispatch(node, path, where)
        finally:
            self.ancestors.discard(id(node))

    def dispatch(self, node: yaml.Node, path: YamlPath, where: Located) -> Any:
        if isinstance(node, yaml.MappingNode) and node.tag == _CORE + "map":
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode) and node.tag == _CORE + "seq":
            return self.sequence(node, path)
        if isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_TAGS:
            return self.scalar(node, path, where)
        return self.problem(path, where.value, f"unsupported YAML tag {node.tag!r}")

    def mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        self.report_duplicates(node, path)
        try:
            self.loader.flatten_mapping(node)  # resolves `<<: *defaults` merge keys
        except yaml.MarkedYAMLError as exc:
            self.problem(path, _mark_of(exc, node), _syntax_message(exc))
            return {}
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_mark = Mark.of(key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(
                    path, key_mark, "a mapping key must be a plain name", invalidates=False
                )
                continue
            key = str(key_node.value)
            value_mark = self.loader.alias_mark(node, key_node) or _value_mark(value_node, key_mark)
            where = Located(key_mark, value_mark, _kind(value_node))
            result[key] = self.value(value_node, (*path, key), where)
        return result

    def report_duplicates(self, node: yaml.MappingNode, path: YamlPath) -> None:
        first_seen: dict[str, Mark] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key, mark = str(key_node.value), Mark.of(key_node.start_mark)
            if key in first_seen:
                message = (
                    f"duplicate key {quote(key)} {in_path(path)} "
                    f"(first defined at line {first_seen[key].line})"
                )
                self.doc.problems.append(
                    YamlProblem((*path, key), mark, message, invalidates=False)
                )
            else:
                first_seen[key] = mark

    def sequence(self, node: yaml.SequenceNode, path: YamlPath) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            here = self.loader.alias_mark(node, index) or Mark.of(item.start_mark)
            items.append(self.value(item, (*path, index), Located(here, here, _kind(item))))
        return items

    def scalar(self, node: yaml.ScalarNode, path: YamlPath, where: Located) -> Any:
        clock = node.style is None and _CLOCK.match(str(node.value)) is not None
        if node.tag == _CORE + "str" or clock:
            return self.string(str(node.value), path, where)
        try:
            return self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError):
            # e.g. `!!int 0x_` or `2024-02-30`; the message must not echo the
            # text, which might be a secret written in the wrong place.
            kind = node.tag.removeprefix(_CORE)
            return self.problem(path, where.value, f"value is not a valid {kind}")

    def string(self, text: str, path: YamlPath, where: Located) -> str:
        if self.on_string is None:
            return text
        try:
            result = self.on_string(text)
        except ScalarError as exc:
            for message in exc.messages:
                self.problem(path, where.value, message)
            return text
        if result != text:
            self.doc.rewritten.add(path)
        return result

    def problem(
        self, path: YamlPath, mark: Mark, message: str, *, invalidates: bool = True
    ) -> None:
        text = f"{describe_path(path)}: {message}" if path else message
        self.doc.problems.append(YamlProblem(path, mark, text, invalidates))


def _kind(node: yaml.Node) -> NodeKind:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "sequence"
    return "scalar"


def _value_mark(node: yaml.Node, key_mark: Mark) -> Mark:
    # An empty value (`port:`) is marked just after the colon, which is
    # nowhere useful; the key is what the reader should look at.
    if isinstance(node, yaml.ScalarNode) and node.value == "" and node.style is None:
        return key_mark
    return Mark.of(node.start_mark)


def _mark_of(exc: yaml.MarkedYAMLError, node: yaml.Node) -> Mark:
    mark = exc.problem_mark or exc.context_mark
    return Mark.of(mark if mark is not None else node.start_mark)


def describe_path(path: Sequence[PathElem]) -> str:
    """`sources.pagerduty.webhook_secrets[1]`; the top level reads as such."""
    text = ""
    for elem in path:
        text += f"[{elem}]" if isinstance(elem, int) else (f".{elem}" if text else elem)
    return text or "the top level"


def in_path(path: Sequence[PathElem]) -> str:
    """`in server`, or `at the top level`: where a key is, for a message."""
    return f"in {describe_path(path)}" if path else "at the top level"


def quote(text: str, limit: int = 60) -> str:
    """A key or value for a one-line message: quoted, escaped, shortened."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(shown)
