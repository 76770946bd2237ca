"""The small part of JQL the Jira fake understands: what pmhub (and a person poking
at the demo) sends.

    project = OPS AND labels = "pmhub-1a2b" ORDER BY created ASC
    project = "OPS" AND labels in ("pmhub-1a2b", "pmhub-3c4d")
    issue.property[pmhub].effect_key = "pm:pagerduty:P1:followup:1:ticket"
    key = OPS-1

Clauses are joined by AND; `=`, `!=` and `in` are the operators. Anything else is
refused with Jira's own kind of message, so a query pmhub should not send fails
loudly in tests instead of matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Issue = Mapping[str, Any]
Predicate = Callable[[Issue], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>!=|=|\(|\)|,)
      | (?P<word>[\w.\[\]\-:]+)
    )""",
    re.VERBOSE,
)
_PROPERTY = re.compile(r"^issue\.property\[(?P<key>[^\]]+)\]\.(?P<path>[\w.]+)$", re.IGNORECASE)


class JqlError(ValueError):
    """The query is not valid (as far as the fake knows JQL); Jira answers 400."""


@dataclass(frozen=True)
class Query:
    predicate: Predicate
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)

    def matches(self, issue: Issue) -> bool:
        return self.predicate(issue)


def _tokens(jql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(jql):
        if jql[position:].strip() == "":
            break
        match = _TOKEN.match(jql, position)
        if match is None or match.end() == position:
            raise JqlError(f"Error in the JQL Query: unexpected character at {position}")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        tokens.append((kind, raw))
        position = match.end()
    return tokens


def parse(jql: str) -> Query:
    tokens = _tokens(jql)
    words = [value.lower() if kind == "word" else None for kind, value in tokens]
    order_at = next(
        (i for i in range(len(words) - 1) if words[i] == "order" and words[i + 1] == "by"), None
    )
    order_by = _order(tokens[order_at + 2 :]) if order_at is not None else ()
    body = tokens[:order_at] if order_at is not None else tokens
    if not body:  # an empty query (or only ORDER BY) matches everything, as in Jira
        return Query(lambda _: True, order_by)
    clauses: list[Predicate] = []
    current: list[tuple[str, str]] = []
    for kind, value in [*body, ("word", "and")]:
        if kind == "word" and value.lower() == "and":
            clauses.append(_clause(current))
            current = []
        elif kind == "word" and value.lower() == "or":
            raise JqlError("Error in the JQL Query: the fake supports AND only")
        else:
            current.append((kind, value))
    return Query(lambda issue: all(clause(issue) for clause in clauses), order_by)


def _order(tokens: list[tuple[str, str]]) -> tuple[tuple[str, bool], ...]:
    order: list[tuple[str, bool]] = []
    for kind, value in tokens:
        if kind == "word" and value.lower() in ("asc", "desc") and order:
            order[-1] = (order[-1][0], value.lower() == "desc")
        elif kind == "word":
            order.append((value.lower(), False))
    return tuple(order)


def _clause(tokens: list[tuple[str, str]]) -> Predicate:
    if len(tokens) < 3:  # noqa: PLR2004 - field, operator, value
        raise JqlError("Error in the JQL Query: expected <field> <operator> <value>")
    (field_kind, field), (_, operator), rest = tokens[0], tokens[1], tokens[2:]
    if field_kind != "word":
        raise JqlError(f"Error in the JQL Query: expected a field name, got {field!r}")
    operator = operator.lower()
    values: tuple[str, ...]
    if operator in ("=", "!="):
        if len(rest) != 1 or rest[0][0] not in ("string", "word"):
            raise JqlError(f"Error in the JQL Query: one value expected after {operator!r}")
        values = (rest[0][1],)
    elif operator == "in":
        values = _list(rest)
    else:
        raise JqlError(f"Error in the JQL Query: operator {operator!r} is not supported")
    getter = _field(field)

    def predicate(issue: Issue) -> bool:
        hit = bool(set(getter(issue)) & set(values))
        return not hit if operator == "!=" else hit

    return predicate


def _list(tokens: list[tuple[str, str]]) -> tuple[str, ...]:
    if not tokens or tokens[0] != ("op", "(") or tokens[-1] != ("op", ")"):
        raise JqlError("Error in the JQL Query: 'in' needs a parenthesised list")
    values = [value for kind, value in tokens[1:-1] if kind in ("string", "word")]
    separators = [value for kind, value in tokens[1:-1] if kind == "op"]
    if not values or any(sep != "," for sep in separators) or len(separators) != len(values) - 1:
        raise JqlError("Error in the JQL Query: malformed value list")
    return tuple(values)


def _field(name: str) -> Callable[[Issue], tuple[str, ...]]:
    """What a field compares as: a tuple of strings (labels hold many)."""
    lowered = name.lower()
    if lowered == "project":
        return lambda issue: (issue["fields"]["project"]["key"], issue["fields"]["project"]["id"])
    if lowered == "labels":
        return lambda issue: tuple(issue["fields"].get("labels") or ())
    if lowered in ("key", "issuekey"):
        return lambda issue: (issue["key"], issue["id"])
    if lowered == "status":
        return lambda issue: (issue["fields"]["status"]["name"],)
    prop = _PROPERTY.match(name)
    if prop:
        key, path = prop.group("key"), prop.group("path").split(".")

        def property_value(issue: Issue) -> tuple[str, ...]:
            value: Any = (issue.get("properties") or {}).get(key)
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            return (str(value),) if value is not None else ()

        return property_value
    raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
