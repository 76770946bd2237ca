"""Google Docs settings: post-mortems as Google Docs in a shared-drive folder."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.common.google import ServiceAccountKey
from connectors.common.paths import CaBundle

GOOGLE_ROOT_URL = "https://www.googleapis.com/"  # Drive v3
DOCS_ROOT_URL = "https://docs.googleapis.com/"  # Docs v1
# drive.file would not see a document a person moved into the folder, nor let pmhub
# find its own document after the service account's key is rotated; the folder is
# shared with the acting user, so `drive` is scoped in practice by that sharing.
DEFAULT_SCOPES = (
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/documents",
)


def _with_slash(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("expected an http(s):// URL")
    # The client joins the service path onto it: without the slash urljoin would
    # replace the last path segment instead.
    return value if value.endswith("/") else value + "/"


class GoogleDocsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    folder_id: str = Field(
        min_length=1,
        description="The Drive folder post-mortems are created in (in a shared drive: "
        "the id from the folder's URL).",
    )
    drive_id: str | None = Field(
        default=None,
        description="The shared drive holding the folder; looking for an earlier attempt "
        "is then limited to it. None: every drive the acting user can see.",
    )
    credentials_file: ServiceAccountKey | None = Field(
        default=None, description="Service-account key (JSON) with domain-wide delegation."
    )
    subject: str | None = Field(
        default=None,
        description="The Workspace user pmhub acts as; needs Content manager on the folder.",
    )
    scopes: tuple[str, ...] = Field(default=DEFAULT_SCOPES, min_length=1)
    root_url: str = Field(default=GOOGLE_ROOT_URL, description="Drive's API root (the fake's).")
    docs_root_url: str = Field(default=DOCS_ROOT_URL, description="Docs' API root (the fake's).")
    ca_bundle: CaBundle | None = Field(
        default=None,
        description="CA certificates (PEM) to trust instead of the default bundle: a "
        "TLS-inspecting proxy, the demo's fake.",
    )
    draft_heading: str = Field(
        default="pmhub draft", min_length=1, description="The heading of pmhub's own section."
    )
    timeout_seconds: float = Field(default=20, gt=0, description="Per socket operation.")
    max_concurrency: int = Field(default=4, ge=1, le=32)

    @field_validator("root_url", "docs_root_url")
    @classmethod
    def _root_url(cls, value: str) -> str:
        return _with_slash(value)

    @model_validator(mode="after")
    def _credentials(self) -> GoogleDocsConfig:
        if self.talks_to_google and (self.credentials_file is None or not self.subject):
            raise ValueError(
                "Google Docs needs credentials_file and subject (domain-wide delegation)"
            )
        if (self.credentials_file is None) != (not self.subject):
            raise ValueError("credentials_file and subject go together")
        return self

    @property
    def talks_to_google(self) -> bool:
        return self.root_url == GOOGLE_ROOT_URL or self.docs_root_url == DOCS_ROOT_URL
