"""GitHub settings for post-mortems proposed as pull requests (wired by hub/app.py, later)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from cryptography.hazmat.primitives import serialization
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from connectors.common.paths import config_file


def _pem_private_key(path: Path) -> Path:
    # Read the way the client reads it (github/client.py), so `pmhub check` finds it.
    try:
        serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM private key without a passphrase: {path} ({exc})") from None
    return path


PrivateKeyFile = Annotated[Path, AfterValidator(config_file), AfterValidator(_pem_private_key)]

_REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
# git check-ref-format, the parts a configured prefix or folder could get wrong.
_BAD_REF = re.compile(r"[\x00-\x20~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(/|$)")


class GitHubConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str = Field(description="owner/name, e.g. 'PostHog/incidents-analysis'.")
    base_branch: str = Field(default="main", min_length=1, description="Pull requests target it.")
    path: str = Field(
        default="",
        description="Folder in the repository for post-mortem files ('' for the root), "
        "e.g. 'analyses/2026'.",
    )
    branch_prefix: str = Field(
        default="pmhub/postmortem-", min_length=1, description="Each post-mortem's branch name."
    )
    token: SecretStr | None = Field(
        default=None,
        description="A fine-grained token with Contents and Pull requests: read and write "
        "on the repository. Or a GitHub App (app_id, private_key_file, installation_id).",
    )
    app_id: int | None = Field(default=None, ge=1)
    private_key_file: PrivateKeyFile | None = Field(
        default=None, description="The App's private key (PEM)."
    )
    installation_id: int | None = Field(default=None, ge=1)
    base_url: str = Field(
        default="https://api.github.com",
        description="GitHub Enterprise Server: https://HOST/api/v3. The fake's in tests.",
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Per request.")
    draft_heading: str = Field(
        default="pmhub draft", min_length=1, description="The heading of pmhub's own section."
    )
    draft_pull_request: bool = Field(default=False, description="Open pull requests as drafts.")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _REPOSITORY.match(value):
            raise ValueError("expected owner/name")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.strip("/")
        if any(part in ("", ".", "..") for part in value.split("/")) and value:
            raise ValueError("a relative folder without '.', '..' or empty parts")
        return value

    @field_validator("branch_prefix", "base_branch")
    @classmethod
    def _ref(cls, value: str) -> str:
        if _BAD_REF.search(value) or value.startswith(("/", "-", ".")):
            raise ValueError(f"{value!r} is not usable in a git branch name")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s):// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_credential(self) -> GitHubConfig:
        app = (self.app_id, self.private_key_file, self.installation_id)
        has_app = any(part is not None for part in app)
        if has_app and not all(part is not None for part in app):
            raise ValueError("a GitHub App needs app_id, private_key_file and installation_id")
        if has_app == (self.token is not None):
            raise ValueError("give either token or a GitHub App (app_id, ...), not both")
        return self

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]
