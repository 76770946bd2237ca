"""Building blocks shared by every configuration section."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import model_validator

# Shared with the connectors' own settings models, which the sections below nest.
from connectors.common.settings import (
    FieldProblem,
    HttpUrlStr,
    NonEmptyStr,
    Secret,
    VendorSettings,
)

__all__ = [
    "FieldProblem",
    "FrozenModel",
    "HttpUrlStr",
    "NonEmptyStr",
    "Secret",
    "SectionsModel",
    "mask_url_password",
    "url_password",
]


class FrozenModel(VendorSettings):
    """Every section: immutable, and an unknown key is an error, not a silent no-op."""


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
