"""incident.io REST settings: the model the `sources.incidentio` section of pmhub.yaml extends.

`IncidentIoApi` holds every REST setting with the key optional (a source without one
only verifies webhooks); `IncidentIoConfig` is the same with the key required, what the
connector runs with.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from connectors.common.settings import HttpUrlStr, Secret, VendorSettings


class IncidentIoApi(VendorSettings):
    api_key: Secret | None = Field(
        default=None,
        description="API key with the incidents.view scope, used to re-fetch incidents "
        "(deliveries are unordered).",
    )
    base_url: HttpUrlStr = Field(default="https://api.incident.io", description="The API root.")
    timeout_seconds: float = Field(default=10, gt=0, description="Whole request, connect to body.")

    @field_validator("base_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def api_config(self) -> IncidentIoConfig | None:
        """What the connector runs with; None without an API key."""
        if self.api_key is None:
            return None
        shared = {name: getattr(self, name) for name in IncidentIoApi.model_fields}
        return IncidentIoConfig.model_validate(shared)


class IncidentIoConfig(IncidentIoApi):
    api_key: Secret = Field(description="API key with the incidents.view scope.")
