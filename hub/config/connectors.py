"""`connectors:` the tools pmhub acts in, and how to reach them.

These models live in the core, not in `connectors/<vendor>/config.py`, because
the settings file is validated as one document; app wiring hands each
connector its section.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from connectors.email.config import EmailConfig
from connectors.github.config import GitHubConfig
from connectors.google_docs.config import GoogleDocsConfig
from hub.config.types import (
    FieldProblem,
    FrozenModel,
    HttpUrlStr,
    NonEmptyStr,
    Secret,
    SectionsModel,
)


def resolve_existing_file(path: Path, info: ValidationInfo) -> Path:
    """Resolve `path` against the config file's directory and require a file there.

    The loader passes that directory as validation context; a model built in
    code without it resolves against the working directory. No `~` expansion:
    a daemon's home directory is not something to depend on.
    """
    base = (info.context or {}).get("config_dir")
    resolved = path if path.is_absolute() else Path(base or Path.cwd()) / path
    try:
        exists, is_file = resolved.exists(), resolved.is_file()
    except OSError as exc:  # e.g. a name too long for the file system
        raise ValueError(f"cannot use {resolved}: {exc.strerror}") from None
    if not exists:
        raise ValueError(f"file not found: {resolved}")
    if not is_file:
        raise ValueError(f"not a file: {resolved}")
    return resolved


ExistingFile = Annotated[Path, AfterValidator(resolve_existing_file)]

DEFAULT_PRIORITY_MAP = {"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"}


def _slack_channel_id(value: str) -> str:
    # Ids, not names: exactly-once posting reads a channel's history, which takes only
    # an id, and a renamed channel keeps its id.
    if not re.fullmatch(r"[CG][A-Z0-9]{2,}", value):
        raise ValueError(
            "expected a Slack channel id such as C0123ABCD (the channel's details show it), "
            "not a name"
        )
    return value


SlackChannelId = Annotated[str, AfterValidator(_slack_channel_id)]


class SlackConnector(FrozenModel):
    bot_token: Secret = Field(description="Bot user OAuth token (xoxb-...).")
    base_url: HttpUrlStr = "https://slack.com/api/"
    incidents_channel: SlackChannelId = Field(
        description="Channel id (C0123ABCD) for announcements and outcome summaries."
    )
    postmortem_channel: SlackChannelId | None = Field(
        default=None, description="Where post-mortem announcements go; incidents_channel if unset."
    )
    timeout_seconds: float = Field(
        default=10, gt=0, description="Per request; a slower answer is retried by the job."
    )


class GoogleCalendarConnector(FrozenModel):
    calendar_id: NonEmptyStr = Field(description="Calendar the review meetings are created in.")
    credentials_file: ExistingFile | None = Field(
        default=None,
        description="Service-account JSON key; relative to this file. Unset: application default.",
    )
    subject: str | None = Field(
        default=None, description="User to impersonate (domain-wide delegation)."
    )
    root_url: HttpUrlStr = "https://www.googleapis.com/"
    conference: bool = Field(default=False, description="Attach a Google Meet link.")
    min_notice_minutes: int = Field(
        default=120, ge=0, description="Never schedule a meeting sooner than this."
    )
    timeout_seconds: float = Field(
        default=10, gt=0, description="Per socket operation; a slower answer is retried later."
    )


class JiraConnector(FrozenModel):
    url: HttpUrlStr = Field(description="Site URL, e.g. https://example.atlassian.net.")
    email: str | None = Field(default=None, description="Account email (Jira Cloud).")
    api_token: Secret | None = Field(default=None, description="API token (Jira Cloud).")
    token: Secret | None = Field(default=None, description="Personal access token (Data Center).")
    project: NonEmptyStr = Field(description="Project key follow-up tickets are created in.")
    issue_type: NonEmptyStr = "Task"
    priority_map: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITY_MAP),
        description="Incident severity -> Jira priority name.",
    )
    parent_issue: bool = Field(
        default=False, description="Create a parent issue per post-mortem, follow-ups under it."
    )

    timeout_seconds: float = Field(
        default=10, gt=0, description="Per request; a slower answer is retried by the job."
    )

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> JiraConnector:
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


class StatuspageConnector(FrozenModel):
    api_key: Secret
    page_id: NonEmptyStr
    base_url: HttpUrlStr = "https://api.statuspage.io/v1/"
    mode: Literal["incident", "postmortem"] = Field(
        default="incident",
        description="Publish as an incident update (incident) or as the incident's post-mortem.",
    )
    component_ids: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(
        default=10, gt=0, description="Per request; a slower answer is retried by the job."
    )


class ConnectorsSettings(SectionsModel):
    """Each connector is off unless its section is present."""

    slack: SlackConnector | None = None
    google_calendar: GoogleCalendarConnector | None = None
    jira: JiraConnector | None = None
    statuspage: StatuspageConnector | None = None
    # The post-mortem document and its results email (issue 14). Each section is the
    # connector's own settings model: what `pmhub check` accepts is what runs.
    google_docs: GoogleDocsConfig | None = Field(
        default=None, description="Post-mortems as Google Docs in a shared-drive folder."
    )
    github: GitHubConfig | None = Field(
        default=None, description="Post-mortems as Markdown files proposed in pull requests."
    )
    email: EmailConfig | None = Field(
        default=None, description="SMTP, for the results email to the stakeholders."
    )
