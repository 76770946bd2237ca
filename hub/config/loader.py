"""Reading `config/pmhub.yaml` into `Settings`, reporting every problem at once."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from hub.config.envsubst import interpolate
from hub.config.problems import ConfigError, ConfigProblem, problems_from_validation
from hub.config.root import LOADER_FIELDS, Settings
from hub.config.team_checks import team_target_problems
from hub.config.types import url_password
from hub.yamlpos import Mark, YamlDocument, YamlSyntaxError, load_yaml, quote

_TOP = Mark(1, 1)


def load_settings(path: str | Path, env: Mapping[str, str] | None = None) -> Settings:
    """Load and validate a configuration file. Raises `ConfigError`.

    `env` is used for `${VAR}` interpolation; `os.environ` when not given.
    """
    path = Path(path)
    return settings_from_text(_read(path), path=path, env=env)


def settings_from_text(
    text: str, *, path: str | Path, env: Mapping[str, str] | None = None
) -> Settings:
    """Validate configuration text as if read from `path` (which need not exist)."""
    path = Path(path)
    file = str(path)
    environ = os.environ if env is None else env
    try:
        doc = load_yaml(text, on_string=lambda value: interpolate(value, environ))
    except YamlSyntaxError as exc:
        raise ConfigError([ConfigProblem.at(file, exc.mark, exc.message)]) from None
    data = _sections(doc, file)
    problems = [ConfigProblem.at(file, problem.mark, problem.message) for problem in doc.problems]
    problems += _loader_fields_set(doc, file)
    settings = None
    try:
        settings = Settings.model_validate(data, context={"config_dir": path.absolute().parent})
    except ValidationError as exc:
        # Translated here, outside the except clause's chaining: the
        # ValidationError carries raw input values, secrets included, and
        # must not ride along as __context__ into a traceback.
        problems += problems_from_validation(exc, doc, file)
    if settings is not None:  # issue 15: a team's targets need their connectors
        problems += team_target_problems(settings.teams, settings.connectors, doc, file)
    if problems or settings is None:
        raise ConfigError(sorted(problems, key=lambda problem: (problem.line, problem.column)))
    return settings.model_copy(update={"config_path": path.absolute()})


def _read(path: Path) -> str:
    file = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem.at(file, _TOP, "config file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([ConfigProblem.at(file, _TOP, "is a directory, not a file")]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([ConfigProblem.at(file, _TOP, f"cannot read: {reason}")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        where = Mark(before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1)
        raise ConfigError([ConfigProblem.at(file, where, "the file is not UTF-8 text")]) from None


def _sections(doc: YamlDocument, file: str) -> dict[str, Any]:
    # An empty (or all-comments) file means "all defaults".
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        where = doc.positions[()].value
        message = "the file must be a mapping of sections (server:, store:, sources:, ...)"
        raise ConfigError([ConfigProblem.at(file, where, message)])
    return {key: value for key, value in doc.data.items() if key not in LOADER_FIELDS}


def _loader_fields_set(doc: YamlDocument, file: str) -> list[ConfigProblem]:
    allowed = ", ".join(name for name in Settings.model_fields if name not in LOADER_FIELDS)
    return [
        ConfigProblem.at(
            file,
            doc.positions[(key,)].key,
            f"unknown key {quote(key)} at the top level (allowed: {allowed})",
        )
        for key in LOADER_FIELDS
        if (key,) in doc.positions
    ]


def settings_json_schema() -> dict[str, Any]:
    """JSON Schema of the configuration file (secrets appear as plain strings)."""
    schema = Settings.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "pmhub configuration",
    }


def secret_values(settings: Settings) -> list[str]:
    """Every secret's plain value, longest first, for the log redactor.

    Longest first so a redactor replacing in order never leaves the tail of
    a secret that happens to contain a shorter one.
    """
    found = set(_secrets_in(settings))
    password = url_password(settings.store.url)
    if password:
        found.add(password)
    found.discard("")
    return sorted(found, key=lambda value: (-len(value), value))


def _secrets_in(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secrets_in(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secrets_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
