"""incident.io REST settings, as the connector needs them (wired from pmhub.yaml by hub/app.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class IncidentIoConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr = Field(description="API key with the incidents.view scope.")
    base_url: str = Field(default="https://api.incident.io")
    timeout_seconds: float = Field(default=10, gt=0, description="Whole request, connect to body.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s):// URL")
        return value.rstrip("/")
