"""What every planning step reads, and the helpers they share to make intents and messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.model.incident import Incident, IncidentStatus, Person
from hub.model.intent import Intent, IntentPayload
from hub.model.postmortem import PostMortem, PostMortemStatus
from hub.model.routing import Route
from hub.policy.calendar import WorkCalendar
from hub.policy.plan import OwnerChoice
from hub.policy.policyset import Policy
from hub.policy.routing import routed
from hub.policy.schema import RuleSpec
from hub.policy.templates import (
    TemplateProblem,
    incident_value,
    person_value,
    postmortem_value,
    render,
)

# Over: a declined incident too (a post-mortem someone still wanted goes on from there).
RESOLVED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED, IncidentStatus.DECLINED)
OPEN_STATUSES = (PostMortemStatus.DRAFT, PostMortemStatus.IN_REVIEW)


@dataclass
class Context:
    incident: Incident
    postmortem: PostMortem | None
    policy: Policy
    rule: RuleSpec
    now: datetime
    owner: OwnerChoice | None
    intents: list[Intent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Where this incident's effects go (issue 15): its team's targets.
    route: Route = field(default_factory=Route)

    @property
    def calendar(self) -> WorkCalendar:
        return self.policy.calendar

    @property
    def status(self) -> PostMortemStatus:
        """The post-mortem's status; one about to be created counts as a draft."""
        return self.postmortem.status if self.postmortem else PostMortemStatus.DRAFT

    @property
    def resolved_at(self) -> datetime | None:
        if self.incident.status not in RESOLVED_STATUSES:
            return None
        return self.incident.resolved_at

    @property
    def owner_person(self) -> Person | None:
        return self.owner.person if self.owner else None

    def add(
        self,
        suffix: str,
        clause: str,
        reason: str,
        payload: IntentPayload,
        *,
        due_at: datetime | None = None,
        message: str = "",
    ) -> None:
        """An intent of `payload`'s kind under `pm:<incident id>:<suffix>`, routed to the
        incident's team's targets (`hub.policy.routing`)."""
        meeting = self.postmortem.meeting if self.postmortem else None
        self.intents.append(
            Intent(
                key=f"pm:{self.incident.id}:{suffix}",
                due_at=due_at,
                rule=self.rule.name,
                clause=clause,
                reason=reason,
                payload=routed(payload, self.route, meeting),
                message=message,
            )
        )

    def message(self, kind: str, **values: Any) -> str:
        """A message from the policy's template; a failure becomes a problem, not a crash."""
        context: dict[str, Any] = {
            "incident": incident_value(self.incident),
            "postmortem": postmortem_value(self.postmortem),
            "owner": person_value(self.owner_person),
            "rule": self.rule.name,
            **values,
        }
        try:
            return render(self.policy.messages[kind], context)
        except TemplateProblem as exc:
            self.problems.append(f"message {kind!r}: {exc}")
            return ""
