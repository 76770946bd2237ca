"""Jira settings: the model `connectors.jira` in pmhub.yaml is validated with.

Two deployments, told apart by the credential given:

* Jira Cloud: `email` + `api_token`, HTTP basic auth, REST API v3 (descriptions in
  the Atlassian Document Format, people named by accountId, enhanced JQL search);
* Jira Data Center: `token`, a personal access token sent as a bearer token, REST
  API v2 (plain-text descriptions, people named by username, classic search).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from connectors.common.paths import CaBundle
from connectors.common.settings import (
    FieldProblem,
    HttpUrlStr,
    NonEmptyStr,
    Secret,
    VendorSettings,
)

DEFAULT_PRIORITY_MAP = {"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"}


class Deployment(StrEnum):
    CLOUD = "cloud"
    DATA_CENTER = "data_center"


class JiraConfig(VendorSettings):
    url: HttpUrlStr = Field(description="Site URL, e.g. https://example.atlassian.net.")
    email: str | None = Field(default=None, description="Account email (Jira Cloud).")
    api_token: Secret | None = Field(default=None, description="API token (Jira Cloud).")
    token: Secret | None = Field(default=None, description="Personal access token (DC).")
    project: NonEmptyStr = Field(description="Project key follow-ups are filed in.")
    issue_type: NonEmptyStr = Field(default="Task", description="Type of follow-up issues.")
    priority_map: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITY_MAP),
        description="pmhub priority (P0, P1, ...) -> Jira priority name; unmapped ones pass as is.",
    )
    parent_issue: bool = Field(
        default=False, description="One parent issue per post-mortem, follow-ups under it."
    )
    parent_issue_type: NonEmptyStr = Field(
        default="Epic",
        description="Type of the parent issue; follow-ups name it in their `parent` field.",
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Per request, connect and read.")
    ca_bundle: CaBundle | None = Field(
        default=None,
        description=(
            "CA certificates (PEM) to trust instead of the system's (requests' `verify`): "
            "a TLS-inspecting proxy's bundle, the demo fake's CA."
        ),
    )

    @field_validator("url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        # REST paths are appended as "/rest/api/...": one spelling either way.
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> JiraConfig:
        if self.api_token is not None and self.token is not None:
            raise FieldProblem(
                "token", "give either api_token (Jira Cloud) or token (Data Center), not both"
            )
        if self.api_token is None and self.token is None:
            raise ValueError(
                "missing credentials: set api_token (Jira Cloud) or token (Data Center)"
            )
        if self.api_token is not None and not self.email:
            raise FieldProblem("api_token", "api_token needs email (Jira Cloud signs in with both)")
        return self

    @property
    def deployment(self) -> Deployment:
        return Deployment.CLOUD if self.api_token is not None else Deployment.DATA_CENTER

    @property
    def rest_api_version(self) -> str:
        # v3 only exists on Cloud; DC's newest is v2 (same endpoints, wiki-text bodies).
        return "3" if self.deployment is Deployment.CLOUD else "2"
