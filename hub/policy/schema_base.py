"""Building blocks of the policy language, shared by `hub.policy.schema` and the
document's block (`hub.policy.schema_document`)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainValidator, WithJsonSchema
from pydantic import PlainSerializer as Serializer

from hub.policy.durations import ALLOWED_FORMS, Duration, parse_duration

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def as_list(value: object) -> object:
    """Let a single value stand for a one-element list (`notify: owner`)."""
    return value if isinstance(value, list | tuple) or value is None else [value]


def _duration(value: object) -> Duration:
    return parse_duration(value)


def _email(value: object) -> str:
    if isinstance(value, str) and EMAIL_RE.match(value):
        return value
    raise ValueError(f"not an email address: {value!r}")


_DURATION_SCHEMA = {"type": "string", "description": f"a duration: {ALLOWED_FORMS}"}

DurationValue = Annotated[
    Duration, PlainValidator(_duration), Serializer(str), WithJsonSchema(_DURATION_SCHEMA)
]
Email = Annotated[str, PlainValidator(_email), WithJsonSchema({"type": "string"})]
Template = Annotated[str, Field(description="a sandboxed Jinja2 template")]
Strings = Annotated[list[str], BeforeValidator(as_list)]
