"""The building blocks of every connector's settings model.

A connector's `config.py` model is the model its `pmhub.yaml` section is validated
with (`hub/config/` nests it), so `pmhub check` and `pmhub serve` cannot disagree.
These are the pieces those models share with the rest of the configuration: the
strict base, URLs, secrets, and the cross-field complaint aimed at one key.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, WithJsonSchema


class VendorSettings(BaseModel):
    """A settings section: immutable, an unknown key is an error, no inf/nan numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class FieldProblem(ValueError):
    """A cross-field check's complaint, aimed at one key of the model that raised it.

    A model validator's errors are located at the model itself; carrying the
    key lets the error report point at the line the reader should change.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def check_http_url(value: str) -> str:
    value = value.strip()
    # urlsplit never raises for str input except on bad ports/brackets.
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host name")
    if any(ch.isspace() for ch in value):
        raise ValueError("a URL must not contain spaces")
    return value


# A checked URL kept as the exact string written: callers join paths onto it
# and pass it to HTTP clients, and pydantic's Url type would add a slash.
HttpUrlStr = Annotated[
    str,
    AfterValidator(check_http_url),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https?://"}),
]

# Empty secrets come from `${VAR:-}` or a blank line; they would "work" until
# the first vendor call, so they are refused at load time.
Secret = Annotated[SecretStr, Field(min_length=1)]

NonEmptyStr = Annotated[str, Field(min_length=1)]
