"""Jira settings, as the connector needs them (wired from pmhub.yaml by hub/app.py).

Two deployments, told apart by the credential given:

* Jira Cloud: `email` + `api_token`, HTTP basic auth, REST API v3 (descriptions in
  the Atlassian Document Format, people named by accountId, enhanced JQL search);
* Jira Data Center: `token`, a personal access token sent as a bearer token, REST
  API v2 (plain-text descriptions, people named by username, classic search).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# The same default as the core's `connectors.jira` section (hub/config/connectors.py),
# repeated because a connector may not import hub.config.
DEFAULT_PRIORITY_MAP = {"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"}


class Deployment(StrEnum):
    CLOUD = "cloud"
    DATA_CENTER = "data_center"


class JiraConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="Site URL, e.g. https://example.atlassian.net.")
    email: str | None = Field(default=None, description="Account email (Jira Cloud).")
    api_token: SecretStr | None = Field(default=None, description="API token (Jira Cloud).")
    token: SecretStr | None = Field(default=None, description="Personal access token (DC).")
    project: str = Field(min_length=1, description="Project key follow-ups are filed in.")
    issue_type: str = Field(default="Task", min_length=1)
    priority_map: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITY_MAP),
        description="pmhub priority (P0, P1, ...) -> Jira priority name; unmapped ones pass as is.",
    )
    parent_issue: bool = Field(
        default=False, description="One parent issue per post-mortem, follow-ups under it."
    )
    parent_issue_type: str = Field(
        default="Epic",
        min_length=1,
        description="Type of the parent issue; follow-ups name it in their `parent` field.",
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Per request, connect and read.")
    ca_bundle: Path | None = Field(
        default=None,
        description=(
            "CA certificates (PEM) to trust instead of the system's (requests' `verify`): "
            "a TLS-inspecting proxy's bundle, the demo fake's CA."
        ),
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the Jira URL must start with https:// (or http:// for a local fake)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> JiraConfig:
        if (self.api_token is None) == (self.token is None):
            raise ValueError("set api_token with email (Jira Cloud) or token (Data Center), once")
        if self.api_token is not None and not self.email:
            raise ValueError("api_token needs email: Jira Cloud signs in with both")
        return self

    @property
    def deployment(self) -> Deployment:
        return Deployment.CLOUD if self.api_token is not None else Deployment.DATA_CENTER

    @property
    def rest_api_version(self) -> str:
        # v3 only exists on Cloud; DC's newest is v2 (same endpoints, wiki-text bodies).
        return "3" if self.deployment is Deployment.CLOUD else "2"
