"""Loading policy files: YAML with positions -> schema validation -> semantic checks.

This module and `check_policy_files` are the only parts of `hub.policy` that
read files; evaluation never does. Every problem names file:line:column and,
where a fixed set of values is allowed, lists it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hub.policy.checks import across_files, build_policy
from hub.policy.errors import PolicyError, Problem
from hub.policy.policyset import Policy, PolicySet
from hub.policy.schema import PolicySpec
from hub.policy.teams import TeamSpec
from hub.yamlpos import YamlDocument, YamlSyntaxError, describe_path, load_yaml


def load_policies(
    paths: Iterable[str | Path], teams: Mapping[str, TeamSpec] | None = None
) -> PolicySet:
    """Load every file; raises `PolicyError` with all problems of all files.

    `teams`: `pmhub.yaml`'s mapping of incidents to teams (`Settings.teams`).
    """
    policies, problems = _load_all(paths)
    if problems:
        raise PolicyError(problems)
    return PolicySet(tuple(policies), dict(teams or {}))


def check_policy_files(paths: Iterable[str | Path]) -> list[Problem]:
    """Every problem in the files (an empty list means they load)."""
    return sorted(_load_all(paths)[1])


def parse_policy(text: str, filename: str) -> Policy:
    """One policy from its text; raises `PolicyError`."""
    policy, problems = check_policy_text(text, filename)
    if policy is None or problems:
        raise PolicyError(problems)
    return policy


def check_policy_text(text: str, filename: str) -> tuple[Policy | None, list[Problem]]:
    try:
        doc = load_yaml(text)
    except YamlSyntaxError as exc:
        return None, [Problem(filename, exc.mark.line, exc.mark.column, exc.message)]
    problems = [Problem(filename, p.mark.line, p.mark.column, p.message) for p in doc.problems]
    try:
        spec = PolicySpec.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        # A value the YAML walk already refused (an unknown tag, a recursive alias)
        # was replaced by a stand-in: a schema complaint about it would only echo.
        refused = [p.path for p in doc.problems if p.invalidates]
        for error in exc.errors():
            if not any(doc.locate(error["loc"])[0][: len(bad)] == bad for bad in refused):
                problems.append(_schema_problem(filename, doc, error))
        return None, problems
    policy, more = build_policy(spec, doc, filename)
    return policy, problems + more


def _load_all(paths: Iterable[str | Path]) -> tuple[list[Policy], list[Problem]]:
    policies: list[Policy] = []
    problems: list[Problem] = []
    for path in paths:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, 1, 1, f"cannot read policy file: {exc}"))
            continue
        policy, found = check_policy_text(text, name)
        problems += found
        if policy is not None:
            policies.append(policy)
    problems += across_files(policies)
    return policies, problems


# -- turning pydantic errors into file:line:column messages --------------------------


def _schema_problem(filename: str, doc: YamlDocument, error: ErrorDetails) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    is_key = kind == "extra_forbidden" or (bool(loc) and loc[-1] == "[key]")
    path = tuple(p for p in loc if p != "[key]")
    pos = doc.position(path if kind != "missing" else path[:-1], key=is_key)
    return Problem(filename, pos.line, pos.column, _message(error, path))


def _message(error: ErrorDetails, path: tuple[int | str, ...]) -> str:
    kind, value = error["type"], error.get("input")
    parent, leaf = describe_path(path[:-1]), path[-1] if path else ""
    where = f"in {parent}" if path[:-1] else "at the top level"
    if kind == "extra_forbidden":
        return f"unknown key {leaf!r} {where}{_allowed(path[:-1], keys=True)}"
    if kind == "missing":
        return f"missing required key {leaf!r} {where}"
    if kind in ("literal_error", "enum"):
        if error["loc"] and error["loc"][-1] == "[key]":
            return f"unknown key {value!r} in {parent}{_allowed(path[:-1], keys=True)}"
        return f"{value!r} is not allowed for {describe_path(path)}{_allowed(path)}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{describe_path(path)}: {message}"


def _allowed(path: Sequence[int | str], *, keys: bool = False) -> str:
    names = _allowed_names(_type_at(PolicySpec, path), keys=keys)
    return f" (allowed: {', '.join(names)})" if names else ""


def _allowed_names(hint: Any, *, keys: bool) -> list[str]:
    if keys and get_origin(hint) is dict:
        hint = get_args(hint)[0]
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return [field.alias or name for name, field in hint.model_fields.items()]
    if get_origin(hint) is Literal:
        return [str(arg) for arg in get_args(hint)]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return [str(member.value) for member in hint]
    return []


def _type_at(root: Any, path: Sequence[int | str]) -> Any:
    """The declared type at `path` below `root` (a model), following lists and dicts."""
    hint = root
    for elem in path:
        hint = _unwrap(hint)
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            fields = {f.alias or n: f for n, f in hint.model_fields.items()}
            if elem not in fields:
                return None
            hint = fields[str(elem)].annotation
        elif get_origin(hint) in (list, tuple):
            hint = get_args(hint)[0]
        elif get_origin(hint) is dict:
            hint = get_args(hint)[1]
        else:
            return None
    return _unwrap(hint)


def _unwrap(hint: Any) -> Any:
    """Strip Annotated[...] and `| None` until a concrete type is left."""
    while True:
        origin = get_origin(hint)
        if origin is typing.Annotated:
            hint = get_args(hint)[0]
        elif origin in (Union, types.UnionType):
            rest = [arg for arg in get_args(hint) if arg is not type(None)]
            if len(rest) != 1:
                return hint
            hint = rest[0]
        else:
            return hint


__all__ = ["PolicyError", "Problem", "check_policy_files", "load_policies", "parse_policy"]
