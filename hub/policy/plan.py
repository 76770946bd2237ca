"""What the engine decided for one incident, and its JSON rendering for `pmhub simulate`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from hub.model.incident import Frozen, IncidentStatus, Person, Severity
from hub.model.intent import Intent, IntentKind
from hub.model.postmortem import Meeting, PostMortemStatus
from hub.model.routing import Route

Requirement = bool | Literal["optional"]


class OwnerChoice(Frozen):
    person: Person
    reason: str = Field(description="the owner chain entry that chose them, e.g. 'designated'")
    designated_by: Person | None = None
    designated_at: datetime | None = None
    previous: Person | None = Field(default=None, description="the owner before a hand-off")


class MeetingPlan(Frozen):
    anchor: datetime | None = Field(description="the instant the deadline counts from")
    window_start: datetime | None = Field(
        description="the earliest start at all (the anchor): how far a booking may fall back"
    )
    not_before: datetime | None = Field(
        default=None, description="the earliest start the writing and review time allow"
    )
    deadline: datetime | None = Field(description="the meeting must end by then (policy zone)")
    calendar: str
    duration: timedelta
    invitees: tuple[str, ...] = ()
    optional_invitees: tuple[str, ...] = Field(
        default=(), description="those of `invitees` invited as optional attendees"
    )
    unresolved_roles: tuple[str, ...] = ()
    scheduled: Meeting | None = None


class Plan(Frozen):
    incident_id: str
    severity: Severity
    incident_status: IncidentStatus
    required: Requirement
    rule: str | None
    status: PostMortemStatus | None = Field(
        description="post-mortem status; draft when one is about to be created"
    )
    owner: OwnerChoice | None = None
    meeting: MeetingPlan | None = None
    external_message_required: bool = False
    # The post-mortem document (issue 14): the rule writes one; what In Review needs in it.
    document_expected: bool = False
    review_requires: tuple[str, ...] = ()
    intents: tuple[Intent, ...] = ()
    problems: tuple[str, ...] = Field(default=(), description="needs a person's attention")
    notes: tuple[str, ...] = Field(default=(), description="why something is not done yet")
    dropped: bool = Field(
        default=False, description="required before, not now: the owner decides (issue 13)"
    )
    kept: bool = Field(default=False, description="required before, not now, and kept")
    # Issue 15: the incident's team (pmhub.yaml `teams:`) and where its effects go.
    team: str | None = None
    route: Route | None = None

    def intent(self, key: str) -> Intent | None:
        return next((intent for intent in self.intents if intent.key == key), None)

    def intent_of(self, kind: IntentKind) -> Intent | None:
        """The first intent of a kind (e.g. whether the post-mortem is to be created)."""
        return next((intent for intent in self.intents if intent.kind is kind), None)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as `pmhub simulate` prints it: stable key order, ISO 8601 times with offsets."""
    owner = None
    if plan.owner:
        owner = {
            "email": plan.owner.person.email,
            "name": plan.owner.person.name,
            "reason": plan.owner.reason,
        }
    meeting = None
    if plan.meeting and plan.meeting.deadline:
        meeting = {
            "not_before": _iso(plan.meeting.not_before),
            "deadline": _iso(plan.meeting.deadline),
            "calendar": plan.meeting.calendar,
            "duration_minutes": int(plan.meeting.duration.total_seconds() // 60),
            "invitees": list(plan.meeting.invitees),
            "unresolved_roles": list(plan.meeting.unresolved_roles),
        }
    intents = [
        {
            "key": intent.key,
            "kind": intent.kind.value,
            "due_at": _iso(intent.due_at),
            "rule": intent.rule,
            "clause": intent.clause,
            "reason": intent.reason,
        }
        for intent in plan.intents
    ]
    routing: dict[str, Any] = {}
    if plan.team is not None:
        routing["team"] = plan.team
    if plan.route is not None and not plan.route.empty:
        routing["targets"] = plan.route.model_dump(mode="json", exclude={"team"}, exclude_none=True)
    return {
        "id": plan.incident_id,
        "severity": plan.severity.value,
        "status": plan.incident_status.value,
        **routing,
        "postmortem": {
            "required": plan.required,
            "rule": plan.rule,
            "status": plan.status.value if plan.status else None,
            "owner": owner,
            "meeting": meeting,
            "intents": intents,
            "problems": list(plan.problems),
            "notes": list(plan.notes),
        },
    }
