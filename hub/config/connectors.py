"""`connectors:` the tools pmhub acts in, and how to reach them.

Each section is the connector's own settings model (`connectors/<vendor>/config.py`):
the model `pmhub check` validates the file with is the model `pmhub serve` builds the
connector from, so the two cannot disagree, and a setting the connector has is a
setting the file can give.
"""

from __future__ import annotations

from pydantic import Field

from connectors.common.paths import ConfigFile
from connectors.email.config import EmailConfig
from connectors.github.config import GitHubConfig
from connectors.google_calendar.config import GoogleCalendarConfig
from connectors.google_docs.config import GoogleDocsConfig
from connectors.jira.config import JiraConfig
from connectors.slack.config import SlackConfig
from connectors.statuspage.config import StatuspageConfig
from hub.config.types import SectionsModel

# A file named in pmhub.yaml: relative to its directory, and there when it loads.
ExistingFile = ConfigFile


class ConnectorsSettings(SectionsModel):
    """Each connector is off unless its section is present."""

    slack: SlackConfig | None = Field(
        default=None, description="Slack: DMs, channel posts, the /postmortem command."
    )
    google_calendar: GoogleCalendarConfig | None = Field(
        default=None, description="Google Calendar: the post-mortem review meetings."
    )
    jira: JiraConfig | None = Field(default=None, description="Jira: follow-up tickets.")
    statuspage: StatuspageConfig | None = Field(
        default=None, description="Atlassian Statuspage: the public post-mortem."
    )
    google_docs: GoogleDocsConfig | None = Field(
        default=None, description="Post-mortems as Google Docs in a shared-drive folder."
    )
    github: GitHubConfig | None = Field(
        default=None, description="Post-mortems as Markdown files proposed in pull requests."
    )
    email: EmailConfig | None = Field(
        default=None, description="SMTP, for the results email to the stakeholders."
    )
