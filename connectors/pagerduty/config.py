"""PagerDuty REST settings, as the connector needs them (wired from pmhub.yaml by hub/app.py)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class PagerDutyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    api_token: SecretStr = Field(description="REST API token (read incidents, users, on-calls).")
    base_url: str = Field(
        default="https://api.pagerduty.com",
        description="https://api.eu.pagerduty.com for the EU service region.",
    )
    from_email: str | None = Field(
        default=None, description="A PagerDuty user's email, sent as From: when writing notes."
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Per request, connect and read.")
    user_cache_seconds: float = Field(
        default=300, ge=0, description="How long a looked-up user (name, email) is reused."
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="Extra CA certificates (PEM) to trust: a TLS-inspecting proxy, the demo fake.",
    )

    @field_validator("base_url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        # The `pagerduty` client refuses any other scheme; say so at load time, not per job.
        if not value.startswith("https://"):
            raise ValueError("PagerDuty's client only talks https://")
        return value.rstrip("/")
