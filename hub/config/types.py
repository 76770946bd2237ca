"""Building blocks shared by every configuration section."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    model_validator,
)


class FrozenModel(BaseModel):
    """Every section: immutable, and an unknown key is an error, not a silent no-op."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SectionsModel(FrozenModel):
    """A model whose keys are optional sections: an empty section counts as absent.

    `pagerduty:` with every line below it commented out reads as "off", and
    `server:` with nothing under it as "defaults" -- not as a type error.
    """

    @model_validator(mode="before")
    @classmethod
    def _empty_means_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class FieldProblem(ValueError):
    """A cross-field check's complaint, aimed at one key of the model that raised it.

    A model validator's errors are located at the model itself; carrying the
    key lets the error report point at the line the reader should change.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _check_http_url(value: str) -> str:
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
    AfterValidator(_check_http_url),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https?://"}),
]

# Empty secrets come from `${VAR:-}` or a blank line; they would "work" until
# the first signature check, so they are refused at load time.
Secret = Annotated[SecretStr, Field(min_length=1)]

NonEmptyStr = Annotated[str, Field(min_length=1)]


def mask_url_password(url: str) -> str:
    """`postgresql+asyncpg://app:***@db/pmhub`: the URL, minus its password."""
    password = url_password(url)
    if password is None:
        return url
    return url.replace(f":{password}@", ":***@", 1)


def url_password(url: str) -> str | None:
    """The password embedded in a URL, as written, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if "@" not in parts.netloc:
        return None
    userinfo = parts.netloc.rpartition("@")[0]
    _, colon, password = userinfo.partition(":")
    return password if colon and password else None
