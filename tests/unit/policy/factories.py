"""Builders for policy tests: incidents, post-mortems and policies from inline YAML."""

from __future__ import annotations

import textwrap
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hub.model.incident import (
    Acknowledgement,
    Incident,
    IncidentStatus,
    Person,
    Responder,
    ServiceRef,
    Severity,
    Source,
)
from hub.model.intent import Intent, Payload
from hub.model.postmortem import Meeting, PostMortem
from hub.policy import Plan, PolicySet, evaluate, load_policies, parse_policy
from hub.policy.calendar import WorkCalendar

ROOT = Path(__file__).resolve().parents[3]
PAGERDUTY_POLICY = ROOT / "config" / "policies" / "pagerduty-process.yaml"
POSTHOG_POLICY = ROOT / "config" / "policies" / "posthog-process.yaml"

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")

IC = Person(email="ic@example.com", name="Ida Commander")
ACK = Person(email="ack@example.com", name="Ari Ack")
ONCALL = Person(email="oncall@example.com", name="Oli Oncall")
TRIGGER = Person(email="trigger@example.com", name="Tess Trigger")
RESPONDER = Person(email="responder@example.com", name="Ray Responder")
ALICE = Person(email="alice@example.com", name="Alice")


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def us_calendar(**changes: Any) -> WorkCalendar:
    values: dict[str, Any] = {
        "tz": NY,
        "working_days": frozenset(range(5)),
        "start": time(9),
        "end": time(17),
        "country": "US",
        "extra_holidays": frozenset({date(2026, 12, 24)}),
    }
    values.update(changes)
    return WorkCalendar(**values)


def berlin_calendar() -> WorkCalendar:
    return WorkCalendar(tz=BERLIN, country="DE", subdivision="BE")


def incident(**changes: Any) -> Incident:
    values: dict[str, Any] = {
        "id": "pagerduty:P1",
        "source": Source.PAGERDUTY,
        "source_id": "P1",
        "reference": "PD-1",
        "title": "Checkout errors",
        "severity": Severity.SEV2,
        "status": IncidentStatus.RESOLVED,
        "created_at": ny(2026, 3, 2, 8, 0),
        "resolved_at": ny(2026, 3, 2, 10, 0),  # Monday 10:00 New York
        "services": (ServiceRef(id="PSVC1", name="API"),),
        "incident_commander": IC,
        "acknowledgers": (Acknowledgement(person=ACK, at=ny(2026, 3, 2, 8, 5)),),
        "responders": (Responder(person=RESPONDER),),
        "primary_oncall": ONCALL,
        "manual_trigger": TRIGGER,
    }
    values.update(changes)
    return Incident(**values)


def postmortem(**changes: Any) -> PostMortem:
    values: dict[str, Any] = {"incident_id": "pagerduty:P1"}
    values.update(changes)
    return PostMortem(**values)


def meeting(start: datetime, minutes: int = 30, invitees: tuple[str, ...] = ()) -> Meeting:
    return Meeting(
        event_ref="evt1",
        start=start,
        end=start + timedelta(minutes=minutes),
        calendar="Incident Post-Mortem Meetings",
        invitees=invitees,
    )


def shipped() -> PolicySet:
    return load_policies([PAGERDUTY_POLICY])


def policy_from(text: str, name: str = "policy.yaml") -> PolicySet:
    return PolicySet((parse_policy(textwrap.dedent(text), name),))


SHIPPED = shipped()


def plan_for(
    inc: Incident,
    pm: PostMortem | None = None,
    now: datetime | None = None,
    policies: PolicySet | None = None,
) -> Plan:
    return evaluate(inc, pm, policies or SHIPPED, now or ny(2026, 3, 2, 12, 0))


def keys(plan: Plan) -> list[str]:
    return [intent.key for intent in plan.intents]


P = TypeVar("P", bound=Payload)


def payload(intent: Intent | None, expected: type[P]) -> P:
    """The intent's payload, asserted to be of the model its kind carries."""
    assert intent is not None
    assert isinstance(intent.payload, expected)
    return intent.payload
