"""Slack Web API settings: the model `connectors.slack` in pmhub.yaml is validated with."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from connectors.common.settings import HttpUrlStr, Secret, VendorSettings

# Channel *ids*, not names: exactly-once delivery reads a channel's history, which
# only takes an id, and a renamed channel keeps its id.
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class SlackConfig(VendorSettings):
    bot_token: Secret = Field(
        description="Bot token (xoxb-…) with chat:write, im:write, users:read.email, "
        "channels:history/groups:history/im:history and pins:read (timeline reads)."
    )
    base_url: HttpUrlStr = Field(
        default="https://slack.com/api/", description="Slack's Web API root; the fake's in tests."
    )
    incidents_channel: str = Field(
        description="Channel id (C…) for announcements and outcome summaries, e.g. #incidents."
    )
    postmortem_channel: str | None = Field(
        default=None,
        description="Channel id for review requests; defaults to the incidents channel.",
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Per call, connect to answer.")
    post_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Pause between two posts to one channel (Slack allows about one per second).",
    )
    user_cache_seconds: float = Field(
        default=3600, ge=0, description="How long an email → Slack user id answer is reused."
    )
    find_window_seconds: float = Field(
        default=7 * 24 * 3600,
        gt=0,
        description="How far back to look for an earlier post whose outcome was unknown.",
    )
    find_max_pages: int = Field(
        default=5, ge=1, description="History pages read at most when looking for an earlier post."
    )

    history_page_size: int = Field(
        default=200,
        ge=1,
        le=999,
        description="Messages per conversations.history/replies page when reading a channel "
        "for the timeline. Commercially distributed non-Marketplace apps get 15 at most.",
    )
    history_max_wait_seconds: float = Field(
        default=120,
        ge=0,
        description="How long one timeline read waits out Slack's 429s before the job is "
        "retried later instead.",
    )

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack_sdk joins method names onto it with urljoin: without the slash the
        # last path segment (`api`) would be replaced.
        return value if value.endswith("/") else value + "/"

    @field_validator("incidents_channel", "postmortem_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_ID.match(value):
            raise ValueError(
                f"{value!r} is not a channel id; use the id (C0123ABCD, from the channel's "
                "details), not its name"
            )
        return value

    @property
    def review_channel(self) -> str:
        return self.postmortem_channel or self.incidents_channel
