"""Many teams, one pmhub (issue 15): the policy language's targets and follow-up due dates.

Kept apart from `hub.policy.schema` so the two grow independently; `schema` hangs
these blocks under `targets:` (a policy and a rule) and `follow_ups:` (a rule).

    targets:                       # the policy's targets; a rule's `targets:` overrides them
      slack: {channel: C0CHKOUT1, review_channel: C0PMREVIEW}
      calendar: {id: checkout-pm@group.calendar.google.com}
      jira: {project: CHK, issue_type: Bug, components: [Checkout]}
      statuspage: {page_id: gytm4qzbx9t6, components: [8kbf7d35c070]}
      email: {stakeholders: [checkout-leads@example.com]}
      document: {folder: 1AbCdEf, repository: acme/incidents, path: analyses/}
      teams:                       # per team (a name `teams:` in pmhub.yaml defines)
        search: {slack: {channel: C0SEARCH1}, jira: {project: SRCH}}

A target not named anywhere is the connector's own setting in `pmhub.yaml`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)

from hub.policy.durations import BusinessDays, Duration, parse_duration

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _as_list(value: object) -> object:
    return value if isinstance(value, list | tuple) or value is None else [value]


def _channel(value: object) -> str:
    # Ids, not names: exactly-once posting reads a channel's history, which takes an id.
    if isinstance(value, str) and _CHANNEL_ID.match(value):
        return value
    raise ValueError(
        f"{value!r} is not a Slack channel id (expected the id, e.g. C0123ABCD, from the "
        "channel's details; not its name)"
    )


def _email(value: object) -> str:
    if isinstance(value, str) and _EMAIL.match(value):
        return value
    raise ValueError(f"not an email address: {value!r}")


def _duration(value: object) -> Duration:
    return parse_duration(value)


ChannelId = Annotated[
    str, PlainValidator(_channel), WithJsonSchema({"type": "string", "pattern": "^[CG][A-Z0-9]+$"})
]
Email = Annotated[str, PlainValidator(_email), WithJsonSchema({"type": "string"})]
Text = Annotated[str, Field(min_length=1)]
Texts = Annotated[list[Text], BeforeValidator(_as_list)]
DueDuration = Annotated[
    Duration,
    PlainValidator(_duration),
    WithJsonSchema({"type": "string", "description": "e.g. '2 weeks', '10 business days'"}),
]


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- targets ---------------------------------------------------------------------------


class SlackTargetSpec(Block):
    channel: ChannelId | None = Field(
        default=None, description="announcements, outcomes and messages for people Slack lacks"
    )
    review_channel: ChannelId | None = Field(
        default=None, description="review requests; `channel` when unset"
    )


class CalendarTargetSpec(Block):
    id: Text = Field(description="the calendar the review meetings are booked on")


class JiraTargetSpec(Block):
    project: Text | None = Field(default=None, description="project key follow-ups are filed in")
    issue_type: Text | None = None
    components: Texts | None = Field(default=None, description="component names")


class StatusPageTargetSpec(Block):
    page_id: Text | None = None
    components: Texts | None = Field(default=None, description="component ids")


class EmailTargetSpec(Block):
    stakeholders: Annotated[list[Email], BeforeValidator(_as_list)] = Field(
        min_length=1, description="who gets the results and the weekly digest"
    )


class DocumentTargetSpec(Block):
    folder: Text | None = Field(default=None, description="Google Drive folder id")
    repository: Text | None = Field(default=None, description="GitHub owner/name")
    path: Text | None = Field(default=None, description="directory in the repository")


class TargetsSpec(Block):
    """Where effects go; every key optional (unset: the next layer down decides)."""

    slack: SlackTargetSpec | None = None
    calendar: CalendarTargetSpec | None = None
    jira: JiraTargetSpec | None = None
    statuspage: StatusPageTargetSpec | None = None
    email: EmailTargetSpec | None = None
    document: DocumentTargetSpec | None = None


def _team_name(value: str) -> str:
    if not TEAM_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a team name (letters, digits, '_', '.' and '-', starting "
            "with a letter or digit: it appears in metrics labels and keys)"
        )
    return value


TeamName = Annotated[
    str,
    AfterValidator(_team_name),
    WithJsonSchema({"type": "string", "pattern": TEAM_NAME.pattern}),
]


class PolicyTargetsSpec(TargetsSpec):
    """A policy's (or a rule's) targets, and per team the ones that differ."""

    teams: dict[TeamName, TargetsSpec] = Field(
        default={}, description="team name (pmhub.yaml `teams:`) -> its targets"
    )


# -- follow-up due dates -------------------------------------------------------------


class FollowUpRemindSpec(Block):
    before: DueDuration | None = Field(
        default=None, description="remind the owner this long before the due date"
    )
    on_due: bool = Field(default=True, description="remind the owner on the due date")


class FollowUpEscalateSpec(Block):
    after: DueDuration = Field(
        default=BusinessDays(0),
        description="escalate once the due date has passed by this much (0: the next "
        "working morning)",
    )
    to: Annotated[list[Text], BeforeValidator(_as_list)] = Field(
        min_length=1, description="roles (directory) or emails told, once"
    )


class FollowUpDueSpec(Block):
    """`follow_ups:` keys for due dates (merged into `FollowUpsSpec`)."""

    due: dict[Text, DueDuration] = Field(
        default={},
        description="priority -> how long after it is added a follow-up is due, e.g. "
        "{P0: 2 weeks, P1: 4 weeks}; `default` for the others",
    )
    remind: FollowUpRemindSpec = FollowUpRemindSpec()
    escalate: FollowUpEscalateSpec | None = None
