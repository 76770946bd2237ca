"""The canonical incident: what every source adapter produces and the policy engine reads.

Frozen pydantic models, so a value handed to the pure policy engine can never be
changed behind its back, and so the same incident always serialises the same way
(stored as JSON in the `incidents` table, returned by the admin API).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    """Base of every canonical type: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(StrEnum):
    PAGERDUTY = "pagerduty"
    INCIDENTIO = "incidentio"


class Severity(StrEnum):
    SEV1 = "SEV-1"
    SEV2 = "SEV-2"
    SEV3 = "SEV-3"
    SEV4 = "SEV-4"
    UNKNOWN = "unknown"


class IncidentStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DECLINED = "declined"


class Person(Frozen):
    """Whatever identities are known for one human; any of them may be missing.

    Vendors name people differently (PagerDuty by user id, incident.io by its own
    id plus email and Slack id); `key` picks the most stable one for equality.
    """

    email: str | None = None
    name: str | None = None
    pagerduty_id: str | None = None
    incidentio_id: str | None = None
    slack_id: str | None = None

    @property
    def key(self) -> str:
        for prefix, value in (
            ("email", self.email.lower() if self.email else None),
            ("pagerduty", self.pagerduty_id),
            ("incidentio", self.incidentio_id),
            ("slack", self.slack_id),
            ("name", self.name),
        ):
            if value:
                return f"{prefix}:{value}"
        return "unknown"

    @property
    def display(self) -> str:
        return self.name or self.email or self.slack_id or self.pagerduty_id or "someone"

    def same_human(self, other: Person) -> bool:
        """Whether two records name one human: any identity they share (an email in any
        case, a vendor id, a chat id). The owner named by email and the IC named by
        PagerDuty id with the same email are one person, who hears a message once."""
        pairs = (
            (
                self.email.casefold() if self.email else None,
                other.email.casefold() if other.email else None,
            ),
            (self.pagerduty_id, other.pagerduty_id),
            (self.incidentio_id, other.incidentio_id),
            (self.slack_id, other.slack_id),
        )
        return any(mine is not None and mine == theirs for mine, theirs in pairs)

    def merged_with(self, other: Person) -> Person:
        """Fill identities this record lacks from another record of the same human."""
        data = self.model_dump()
        for field, value in other.model_dump().items():
            if data.get(field) is None and value is not None:
                data[field] = value
        return Person(**data)


class Acknowledgement(Frozen):
    person: Person
    at: datetime


class Responder(Frozen):
    person: Person
    joined_at: datetime | None = None


class ServiceRef(Frozen):
    id: str
    name: str | None = None


class TeamRef(Frozen):
    id: str
    name: str | None = None


class RoleHolder(Frozen):
    """A named incident role (incident.io roles, PagerDuty incident roles)."""

    role: str
    person: Person


class IncidentLinks(Frozen):
    vendor_url: str | None = None
    slack_channel_id: str | None = None
    slack_channel_name: str | None = None
    postmortem_document_url: str | None = None
    postmortem_document_id: str | None = Field(
        default=None, description="the incident tool's post-mortem document (incident.io)"
    )
    conference_url: str | None = None


class Incident(Frozen):
    """One incident as pmhub understands it, merged from every delivery about it."""

    id: str = Field(description="pmhub id: '<source>:<vendor id>', e.g. 'pagerduty:PGR0VU2'")
    source: Source
    source_id: str
    reference: str | None = Field(
        default=None, description="human reference, e.g. 'PD-1042' or 'INC-45'"
    )
    title: str = ""
    severity: Severity = Severity.UNKNOWN
    severity_source: str | None = Field(
        default=None, description="the vendor value the severity was mapped from, e.g. 'P1'"
    )
    status: IncidentStatus = IncidentStatus.TRIGGERED
    created_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    updated_at: datetime | None = Field(
        default=None, description="the vendor's timestamp of the newest fact merged in"
    )
    services: tuple[ServiceRef, ...] = ()
    teams: tuple[TeamRef, ...] = ()
    type: str | None = None
    false_positive: bool = False
    full_outage: bool = False
    custom_fields: dict[str, str] = Field(default_factory=dict)
    links: IncidentLinks = IncidentLinks()
    escalation_policy_id: str | None = None

    incident_commander: Person | None = None
    reporter: Person | None = None
    assignees: tuple[Person, ...] = ()
    acknowledgers: tuple[Acknowledgement, ...] = ()
    responders: tuple[Responder, ...] = ()
    roles: tuple[RoleHolder, ...] = ()
    manual_trigger: Person | None = None
    primary_oncall: Person | None = None

    @property
    def first_acknowledger(self) -> Person | None:
        if not self.acknowledgers:
            return None
        return min(self.acknowledgers, key=lambda ack: ack.at).person

    def role(self, name: str) -> Person | None:
        for holder in self.roles:
            if holder.role == name:
                return holder.person
        return None


def incident_id(source: Source, source_id: str) -> str:
    return f"{source.value}:{source_id}"
