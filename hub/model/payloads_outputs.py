"""Intent payloads of what the post-mortem produces: follow-ups (filed, flagged, due) and
the external message."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from hub.model.intent_base import (
    Channel,
    IntentKind,
    Payload,
    PersonRef,
)
from hub.model.routing import StatusPageTarget, TrackerTarget

# -- what the post-mortem produces -----------------------------------------------------


class FileFollowUp(Payload):
    kind: Literal[IntentKind.FILE_FOLLOWUP] = IntentKind.FILE_FOLLOWUP
    id: str
    summary: str
    priority: str
    owner: PersonRef | None
    labels: tuple[str, ...]
    incident_ref: str
    postmortem_url: str | None
    priority_override_reason: str | None = Field(
        default=None, description="why it is filed despite a priority the policy does not file"
    )
    tracker: TrackerTarget | None = Field(default=None, description="routing; None: pmhub.yaml's")
    due_on: date | None = Field(default=None, description="the due date set on the ticket")

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"priority_override_reason", "due_on"})


class FlagFollowUp(Payload):
    kind: Literal[IntentKind.FLAG_FOLLOWUP] = IntentKind.FLAG_FOLLOWUP
    id: str
    summary: str
    priority: str
    allowed: tuple[str, ...] = Field(description="the priorities the policy files")
    recipient: PersonRef | None
    channel: Channel = None


class SetFollowUpDue(Payload):
    """Bring the ticket's due date in line with pmhub's (filed before it was known, or moved)."""

    kind: Literal[IntentKind.SET_FOLLOWUP_DUE] = IntentKind.SET_FOLLOWUP_DUE
    id: str
    tracker_key: str
    due_on: date | None


FollowUpStage = Literal["before", "due", "overdue"]


class RemindFollowUp(Payload):
    """A follow-up's owner reminded before and on its due date; escalated after it."""

    kind: Literal[IntentKind.REMIND_FOLLOWUP] = IntentKind.REMIND_FOLLOWUP
    id: str
    due_on: date
    stage: FollowUpStage
    recipients: tuple[PersonRef, ...]
    unresolved_roles: tuple[str, ...] = Field(description="roles nobody holds: not told")
    channel: Channel = None

    @property
    def escalation(self) -> bool:
        """After the due date the policy's escalation contact hears of it."""
        return self.stage == "overdue"


class RequestExternalMessage(Payload):
    kind: Literal[IntentKind.REQUEST_EXTERNAL_MESSAGE] = IntentKind.REQUEST_EXTERNAL_MESSAGE
    recipient: PersonRef
    channel: Channel = None


class PublishExternalMessage(Payload):
    kind: Literal[IntentKind.PUBLISH_EXTERNAL_MESSAGE] = IntentKind.PUBLISH_EXTERNAL_MESSAGE
    body: str
    incident_ref: str
    title: str
    status_page: StatusPageTarget | None = Field(
        default=None, description="routing; None: pmhub.yaml's"
    )
