"""The policy language of the post-mortem document (issue 14): its own block of models.

* `timeline:` (per policy file) how the incident's history becomes the document's
  timeline and people: what one draft reads at most, which channel to read, what is
  noise, what is a key moment, how the Incident Commander and the Scribe are found,
  which links are worth keeping, what counts as a TODO.
* `document:` (per rule) where the document is written (Google Docs or a pull request
  on GitHub) and from which template.
* `review.requires:` (per rule, in `ReviewSpec`) the sections that must be filled
  before the post-mortem goes to In Review.
* `results_email:` (per rule) who is emailed the results, and when.

Kept apart from `hub.policy.schema` so the scheduling and lifecycle blocks there can
change beside it without touching these.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from hub.model.incident import Severity
from hub.policy.durations import CalendarDays, Duration, Elapsed
from hub.policy.schema_base import DurationValue, Email, Strings, Template

DocumentTool = Literal["google_docs", "github"]
SHIPPED_TEMPLATES = ("pagerduty", "posthog", "posthog-minor")
DEFAULT_TITLE = "{{ incident.reference or incident.id }} {{ incident.title }}"
_REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")


class Spec(BaseModel):
    """As in `hub.policy.schema`: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


Pattern = Annotated[str, AfterValidator(_regex), Field(description="a Python regular expression")]
Emails = Annotated[list[Email], BeforeValidator(lambda v: v if isinstance(v, list) else [v])]

_MENTION = r"(?P<who><@[UW][A-Z0-9]+(?:\|[^>]*)?>)"
COMMANDER_PATTERNS = (
    r"(?i)\b(?:i am|i'm|i\u2019m)\s+(?:the\s+)?(?:ic|incident commander)\b",
    r"(?i)\b(?:ic|incident commander)\s*(?:is|:|=)\s*" + _MENTION,
    _MENTION + r"\s+(?:is|as)\s+(?:the\s+)?(?:ic|incident commander)\b",
)
SCRIBE_PATTERNS = (
    r"(?i)\b(?:i am|i'm|i\u2019m)\s+(?:the\s+)?scribe\b",
    r"(?i)\bscribe\s*(?:is|:|=)\s*" + _MENTION,
    _MENTION + r"\s+(?:is|as)\s+(?:the\s+)?scribe\b",
)


class NoiseSpec(Spec):
    """What the timeline leaves out, so that it stays readable."""

    bots: bool = Field(
        default=True, description="messages and entries of bots and integrations (pmhub's too)"
    )
    observer_joins: bool = Field(
        default=True,
        description="people joining the channel who never wrote or acted there (observers)",
    )
    types: list[str] = Field(
        default=["notify_log_entry"],
        description="vendor entry types left out, e.g. PagerDuty's notify_log_entry (one per "
        "SMS, call and push sent)",
    )
    patterns: list[Pattern] = Field(default=[], description="message texts left out")


class RoleSpec(Spec):
    """How one incident role is found, first match wins: the incident tool's roles, a
    PagerDuty responder request whose message names it, a Slack message."""

    roles: Strings = Field(
        description="role names in incident.io or PagerDuty (case and spacing ignored); a "
        "responder request's message naming one of them names the holder"
    )
    slack: list[Pattern] = Field(
        description="channel messages naming the holder: the author, or the person "
        "mentioned in the group (?P<who>…)"
    )


class CommanderSpec(RoleSpec):
    """How the Incident Commander is found."""

    roles: Strings = Field(
        default=["Incident Commander", "Incident Lead", "IC"],
        description=RoleSpec.model_fields["roles"].description,
    )
    slack: list[Pattern] = Field(
        default=list(COMMANDER_PATTERNS), description=RoleSpec.model_fields["slack"].description
    )


class ScribeSpec(RoleSpec):
    """How the Scribe is found."""

    roles: Strings = Field(
        default=["Scribe"], description=RoleSpec.model_fields["roles"].description
    )
    slack: list[Pattern] = Field(
        default=list(SCRIBE_PATTERNS), description=RoleSpec.model_fields["slack"].description
    )


class LinkSpec(Spec):
    name: str = Field(min_length=1, description="what the link is, e.g. 'Dashboard'")
    pattern: Pattern = Field(description="matches the URL")


class TodoSpec(Spec):
    """Messages that become candidate follow-ups, offered to the owner (never filed alone)."""

    words: list[str] = Field(
        default=["TODO", "action item", "follow up", "follow-up", "followup"],
        description="words (whole, case ignored) that make a message a TODO",
    )
    reactions: list[str] = Field(
        default=[], description="emoji names (without colons) that make a message a TODO"
    )


class TimelineSpec(Spec):
    """The incident's history, assembled for the document (per policy file)."""

    max_entries: int = Field(
        default=1000,
        ge=10,
        le=20000,
        description="what one draft reads at most from each source (log, channel); the "
        "document says when the history was cut",
    )
    channel: str | None = Field(
        default=None,
        pattern=r"^[CG][A-Z0-9]{2,}$",
        description="a Slack channel id read for incidents without a channel of their own "
        "(PagerDuty's), from `channel_lead` before the incident started",
    )
    channel_lead: DurationValue = Field(
        default=Elapsed(timedelta(minutes=30)),
        description="how long before the incident started `channel` is read from",
    )
    messages: Literal["key_moments", "all"] = Field(
        default="key_moments",
        description="which channel messages enter the timeline: only key moments (pinned, "
        "with a key reaction, naming a role), or every message that is not noise",
    )
    key_reactions: list[str] = Field(
        default=["pushpin"], description="emoji names that make a message a key moment"
    )
    pins: bool = Field(default=True, description="pinned messages are key moments")
    noise: NoiseSpec = NoiseSpec()
    commander: CommanderSpec = CommanderSpec()
    scribe: ScribeSpec = ScribeSpec()
    links: list[LinkSpec] = Field(
        default=[],
        description="more links worth keeping, besides call recordings and Zoom/Meet calls",
    )
    todos: TodoSpec = TodoSpec()
    dedupe_window: DurationValue = Field(
        default=Elapsed(timedelta(minutes=2)),
        description="entries of two sources saying the same within this long are one",
    )


class DocumentSpec(Spec):
    """Where the post-mortem document is written, and from which template (per rule)."""

    tool: DocumentTool
    template: str = Field(
        min_length=1,
        description=f"a shipped template ({', '.join(SHIPPED_TEMPLATES)}) or a Jinja file "
        "relative to the policy file",
    )
    folder: str | None = Field(
        default=None,
        min_length=1,
        description="google_docs: the Drive folder id; github: the folder in the "
        "repository. Default: the connector's",
    )
    repository: str | None = Field(
        default=None, description="github: owner/name. Default: connectors.github.repository"
    )
    title: Template = Field(default=DEFAULT_TITLE, description="the document's title")

    @model_validator(mode="after")
    def _for_the_tool(self) -> DocumentSpec:
        if self.repository is not None:
            if self.tool != "github":
                raise ValueError("`repository` is for tool: github")
            if not _REPOSITORY.match(self.repository):
                raise ValueError(f"repository {self.repository!r}: expected owner/name")
        return self

    @property
    def location(self) -> str | None:
        """Where, as the intent carries it: a folder id, or 'owner/name:folder'."""
        if self.tool == "google_docs":
            return self.folder
        if self.repository is None and self.folder is None:
            return None
        return f"{self.repository or ''}:{self.folder or ''}"


class ResultsEmailSpec(Spec):
    """Seed 004: "send out an internal email to the relevant stakeholders describing the
    results and key learnings", with a link to the post-mortem (per rule)."""

    when: Literal["reviewed", "closed"] = Field(
        default="reviewed", description="sent when the post-mortem reaches this status"
    )
    to: Emails = Field(default=[], description="always")
    severities: dict[Severity, Emails] = Field(default={}, description="and for a severity")
    teams: dict[str, Emails] = Field(
        default={}, description="and for an incident's team (its id or name)"
    )
    sections: list[str] = Field(
        default=["summary", "key learnings"],
        description="the document's sections quoted in the email (missing ones are left out)",
    )
    within: DurationValue = Field(
        default=CalendarDays(7),
        description="not sent for a post-mortem that reached `when` longer ago than this "
        "(turning the email on does not mail about post-mortems closed long ago)",
    )

    @model_validator(mode="after")
    def _someone(self) -> ResultsEmailSpec:
        if not (self.to or self.severities or self.teams):
            raise ValueError("results_email needs recipients: to, severities or teams")
        return self


__all__ = [
    "COMMANDER_PATTERNS",
    "SCRIBE_PATTERNS",
    "SHIPPED_TEMPLATES",
    "CommanderSpec",
    "DocumentSpec",
    "DocumentTool",
    "Duration",
    "LinkSpec",
    "NoiseSpec",
    "ResultsEmailSpec",
    "RoleSpec",
    "ScribeSpec",
    "TimelineSpec",
    "TodoSpec",
]
