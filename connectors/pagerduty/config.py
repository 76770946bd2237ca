"""PagerDuty REST settings: the model the `sources.pagerduty` section of pmhub.yaml extends.

`PagerDutyApi` holds every REST setting with the token optional (a source without one
only verifies webhooks); `PagerDutyConfig` is the same with the token required, what
the connector runs with. The section is validated with these very fields and
validators, so `pmhub check` refuses whatever the connector would refuse at start-up.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from connectors.common.paths import CaBundle
from connectors.common.settings import HttpUrlStr, Secret, VendorSettings


def _check_email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain) or any(ch.isspace() for ch in value):
        raise ValueError("expected an email address")
    return value


Email = Annotated[str, AfterValidator(_check_email)]


class PagerDutyApi(VendorSettings):
    api_token: Secret | None = Field(
        default=None, description="REST API token (read incidents, users, on-calls; write notes)."
    )
    base_url: HttpUrlStr = Field(
        default="https://api.pagerduty.com",
        description="https://api.eu.pagerduty.com for the EU service region.",
    )
    from_email: Email | None = Field(
        default=None, description="A PagerDuty user's email, sent as From: when writing notes."
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Per request, connect and read.")
    user_cache_seconds: float = Field(
        default=300, ge=0, description="How long a looked-up user (name, email) is reused."
    )
    oncall_cache_seconds: float = Field(
        default=60,
        ge=0,
        description="How long an escalation policy's primary on-call is reused: a storm of "
        "incidents on one policy reads it once (0: read for every incident that needs it).",
    )
    requests_per_minute: int = Field(
        default=960,
        ge=0,
        description="REST requests started per minute by this process, at most: PagerDuty's "
        "published limit per API key (0: no pacing).",
    )
    ca_bundle: CaBundle | None = Field(
        default=None,
        description="Extra CA certificates (PEM) to trust for the REST API: a TLS-inspecting "
        "proxy, the demo fake.",
    )

    @field_validator("base_url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        # The `pagerduty` client refuses any other scheme; say so at load time, not per job.
        if not value.startswith("https://"):
            raise ValueError("PagerDuty's client only talks https://")
        return value.rstrip("/")

    def api_config(self) -> PagerDutyConfig | None:
        """What the connector runs with; None without an API token."""
        if self.api_token is None:
            return None
        shared = {name: getattr(self, name) for name in PagerDutyApi.model_fields}
        return PagerDutyConfig.model_validate(shared)


class PagerDutyConfig(PagerDutyApi):
    api_token: Secret = Field(
        description="REST API token (read incidents, users, on-calls; write notes)."
    )
