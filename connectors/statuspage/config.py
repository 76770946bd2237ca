"""Atlassian Statuspage settings: the model of `connectors.statuspage` in pmhub.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from connectors.common.settings import HttpUrlStr, NonEmptyStr, Secret, VendorSettings

PublishMode = Literal["incident", "postmortem"]


class StatuspageConfig(VendorSettings):
    api_key: Secret = Field(description="Statuspage API key (sent as `Authorization: OAuth`).")
    page_id: NonEmptyStr = Field(description="The page to publish on, e.g. 'gytm4qzbx9t6'.")
    base_url: HttpUrlStr = Field(
        default="https://api.statuspage.io/v1/",
        validate_default=True,
        description="Statuspage's API root; the fake's in tests.",
    )
    mode: PublishMode = Field(
        default="incident",
        description=(
            "incident: create or update the page incident for this incident with the message;"
            " postmortem: publish the message as the post-mortem of the page incident opened"
            " during the outage (found by the incident's reference, or its name while it was"
            " open), or of a resolved page incident pmhub creates when there is none."
        ),
    )
    component_ids: tuple[str, ...] = Field(
        default=(), description="Components attached when a publication names none."
    )
    notify_subscribers: bool = Field(
        default=True, description="Let Statuspage notify the page's subscribers."
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Whole request, connect to body.")
    min_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Spacing between requests per API key. Statuspage allows 1 request/s per key;"
            " raise it only if Atlassian raised your limit."
        ),
    )

    @field_validator("base_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        # Paths are appended as "/pages/...": one spelling with or without the slash.
        return value.rstrip("/")
