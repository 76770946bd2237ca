"""What happened during an incident, as records read back from the tools it happened in.

Readers (`hub.ports.IncidentLog`, `hub.ports.ChannelHistory`) turn each vendor's history
(PagerDuty log entries, incident.io's activity log, the incident's Slack channel) into
these plain records, so that the pure timeline assembler (`hub.policy.timeline`) can
merge, order, de-duplicate and filter them by the policy's noise rules without knowing
any vendor. Readers keep everything (bots, joins, every log entry type); deciding what
is noise is the policy's job. They live in the model, not in the ports, because the
policy (pure) reads them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class HistorySource(StrEnum):
    PAGERDUTY = "pagerduty"
    INCIDENT_IO = "incidentio"
    SLACK = "slack"


class EntryKind(StrEnum):
    """What an entry is, across vendors (the vendor's own word is in `vendor_type`)."""

    TRIGGERED = "triggered"
    ASSIGNED = "assigned"  # also reassigned / delegated
    ESCALATED = "escalated"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    ANNOTATED = "annotated"  # a note on the incident
    STATUS_CHANGED = "status_changed"
    STATUS_UPDATE = "status_update"  # a written update to stakeholders
    SEVERITY_CHANGED = "severity_changed"  # priority, urgency, severity
    ROLE_ASSIGNED = "role_assigned"
    FIELD_CHANGED = "field_changed"  # summary, name, custom fields, timestamps
    RESOLVED = "resolved"
    MESSAGE = "message"  # a chat message or thread reply
    JOINED = "joined"  # someone joined the channel (or the incident, as a responder)
    REQUESTED = "requested"  # someone was asked to join (a PagerDuty responder request)
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, as far as the vendor says. Match people across sources by email."""

    name: str | None = None
    email: str | None = None
    vendor_id: str | None = None  # "U0123" (Slack), "PXYZ123" (PagerDuty), a ULID
    is_bot: bool = False  # an integration, a service, a workflow, an app


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    source: HistorySource
    id: str  # unique within its source: a log entry id, a message ts
    kind: EntryKind
    vendor_type: str  # the vendor's own type: "acknowledge_log_entry", "channel_join", ...
    at: datetime  # aware, UTC
    actor: Actor | None
    text: str  # the vendor's summary, or the message text
    link: str | None = None  # back to the vendor: a log entry page, a Slack permalink
    thread_id: str | None = None  # a reply's parent message id (Slack thread_ts)
    pinned: bool = False
    reactions: tuple[tuple[str, int], ...] = ()  # (emoji name, count)
    subject: Actor | None = None  # who it was done to: the assignee, the new role holder
    detail: str | None = None  # the role's name, the new status, a note's text
    labels: tuple[str, ...] = field(default=())  # vendor facts worth filtering on

    def has_reaction(self, name: str) -> bool:
        wanted = name.strip(":")
        # Slack reports skin-tone variants as "thumbsup::skin-tone-2".
        return any(r.split("::", 1)[0] == wanted for r, _ in self.reactions)


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """What one read returned, oldest first; `truncated` when the limit cut it short."""

    entries: tuple[HistoryEntry, ...]
    truncated: bool = False
