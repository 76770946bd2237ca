"""Configuration problems, and the translation of pydantic errors into them.

pydantic says `('sources', 'pagerduty', 'webhook_secrets')` and `list_type`;
a person needs `config/pmhub.yaml:12:22: sources.pagerduty.webhook_secrets:
expected a list, got a string`. A value is shown only for enum choices and
number/boolean fields, never for a secret field, and never when it came from
the environment (`${STATUSPAGE_API_KEY}` in the wrong key must not leak).
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from hub.config.root import LOADER_FIELDS, Settings
from hub.config.types import FieldProblem
from hub.yamlpos import Located, Mark, PathElem, YamlDocument, describe_path, in_path, quote


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __post_init__(self) -> None:
        # One problem, one line: a tool reading the output splits on newlines.
        object.__setattr__(self, "message", " ".join(self.message.splitlines()))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    @classmethod
    def at(cls, file: str, mark: Mark, message: str) -> ConfigProblem:
        return cls(file, mark.line, mark.column, message)


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def problems_from_validation(
    exc: ValidationError, doc: YamlDocument, file: str
) -> list[ConfigProblem]:
    """Every pydantic error as a positioned problem, minus echoes of YAML problems."""
    already = [problem.path for problem in doc.problems if problem.invalidates]
    problems = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):
            loc.append(cause.key)
        path, where = doc.locate(loc)
        if any(path[: len(bad)] == bad for bad in already):
            continue
        echo = path not in doc.rewritten
        problems.append(
            ConfigProblem.at(file, _mark_for(error, where), _message(error, loc, echo=echo))
        )
    return problems


def _mark_for(error: ErrorDetails, where: Located) -> Mark:
    # A complaint about a whole mapping (a missing key, a cross-field check)
    # points at the mapping's key line, not at its first child.
    if error["type"] in ("missing", "extra_forbidden") or (
        where.kind == "mapping" and error["type"] not in ("model_type", "dict_type")
    ):
        return where.key
    return where.value


def _message(error: ErrorDetails, loc: Sequence[Any], *, echo: bool) -> str:
    """The message for one error; `echo` allows showing the offending value."""
    kind = error["type"]
    if kind in ("extra_forbidden", "missing"):
        parent, _ = _walk(loc[:-1])
        key = str(loc[-1]) if loc else ""
        if kind == "missing":
            return f"missing required key {quote(key)} {in_path(parent)}"
        return _unknown_key(key, parent)
    path, annotation = _walk(loc)
    name = describe_path(path)
    if kind == "literal_error":
        shown = _shown(error["input"]) if echo else "the value"
        return f"{name}: {shown} is not allowed (allowed: {_choices(annotation)})"
    return f"{name}: {_detail(error, annotation, echo=echo)}"


def _unknown_key(key: str, parent: Sequence[PathElem]) -> str:
    _, model = _walk(parent)
    allowed = ""
    if isinstance(model, type) and issubclass(model, BaseModel):
        names = [
            field.alias or name  # a policy condition in `teams:` spells `any` as alias
            for name, field in model.model_fields.items()
            if not _loader_only(model, name)
        ]
        allowed = f" (allowed: {', '.join(names)})"
    return f"unknown key {quote(key)} {in_path(parent)}{allowed}"


def _loader_only(model: type[BaseModel], name: str) -> bool:
    return model is Settings and name in LOADER_FIELDS


_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "path_type": "a file path",
}
# Parsing failures happen only on number and boolean fields, never on
# secrets, so the offending text is safe (and useful) to show.
_ECHO_INPUT = {"int_parsing", "int_from_float", "float_parsing", "bool_parsing"}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _detail(error: ErrorDetails, annotation: Any, *, echo: bool) -> str:
    kind, value, ctx = error["type"], error["input"], error.get("ctx") or {}
    if kind in _EXPECTED:
        return _type_mismatch(kind, value, echo=echo and annotation is not SecretStr)
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        got = f" (got {value})" if echo and _is_number(value) else ""
        return f"must be {words} {ctx[key]}{got}"
    if kind in ("too_short", "string_too_short"):
        return _too_short(int(ctx.get("min_length", 1)), value)
    if kind == "value_error":
        cause = ctx.get("error")
        return str(cause) if cause is not None else error["msg"]
    if kind == "finite_number":
        return "must be a finite number"
    return error["msg"]


def _type_mismatch(kind: str, value: Any, *, echo: bool) -> str:
    got = _kind_of(value)
    if kind in _ECHO_INPUT and echo and isinstance(value, str | int | float):
        got = _shown(value)
    hint = ""
    if kind == "string_type" and isinstance(value, bool | int | float | dt.date):
        hint = " (put it in quotes)"
    return f"expected {_EXPECTED[kind]}, got {got}{hint}"


def _too_short(minimum: int, value: Any) -> str:
    if minimum <= 1:
        return "must not be empty"
    unit = "items" if isinstance(value, list | dict) else "characters"
    return f"must be at least {minimum} {unit} long"


def _kind_of(value: Any) -> str:
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "a mapping"),
        ((dt.date, dt.datetime), "a date"),
    ]
    if value is None:
        return "nothing"
    return next((name for cls, name in kinds if isinstance(value, cls)), "a value")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return quote(value) if isinstance(value, str) else quote(str(value))[1:-1]


def _choices(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return ", ".join(str(choice) for choice in get_args(annotation))
    return "see the configuration reference"


def _walk(loc: Sequence[Any]) -> tuple[list[PathElem], Any]:
    """Follow `loc` through the Settings annotations.

    Returns the part of `loc` that names real keys and list positions, and
    the annotation found there. pydantic's own markers in a loc (union branch
    names like `function-after[...]`) name nothing and are dropped.
    """
    annotation: Any = Settings
    path: list[PathElem] = []
    for elem in loc:
        current = _unwrap(annotation)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = (
                next(
                    (f for n, f in current.model_fields.items() if elem in (n, f.alias)),
                    None,
                )
                if isinstance(elem, str)
                else None
            )
            if field is None:
                continue
            annotation = field.annotation
        elif get_origin(current) is list and isinstance(elem, int):
            annotation = get_args(current)[0]
        elif get_origin(current) is dict and isinstance(elem, str):
            annotation = get_args(current)[1]
        else:
            continue
        path.append(elem)
    return path, _unwrap(annotation)


def _unwrap(annotation: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` -> X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
