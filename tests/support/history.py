"""A seeded history of post-mortems for the process's numbers (issue 15), and its table by hand.

Two teams (Checkout, Search: pmhub.yaml `teams:` by service) and one incident no team
claims, resolved across June 2026, each post-mortem with its milestones as the
reconciler records them. The report over June is worked out below by hand, from the
dates alone; tests compare what pmhub computes (engine, API, CLI) with it.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.merge import merge
from hub.model.incident import IncidentStatus, Person, ServiceRef, Severity, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.postmortem import (
    FollowUp,
    FollowUpState,
    Meeting,
    Milestones,
    OwnerAcceptance,
    PostMortem,
    PostMortemStatus,
)
from hub.store.state import save_incident, save_postmortem

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
JUNE = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
OWNER = Person(email="alice@example.com", name="Alice Chen")
POLICY = """\
version: 1
calendar: {timezone: UTC}
rules:
  - name: all
    postmortem: required
    follow_ups:
      due: {P1: 2 weeks}
"""
TEAMS = """\
teams:
  checkout:
    when: {service: [Checkout API]}
  search:
    when: {service: [Search]}
"""


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def _meeting(end: datetime) -> Meeting:
    return Meeting(event_ref="evt", start=end.replace(hour=end.hour - 1), end=end, calendar="PMs")


def _follow_up(fid: str, priority: str, created: datetime, **changes: object) -> FollowUp:
    return FollowUp.model_validate(
        {"id": fid, "summary": f"Follow-up {fid}", "priority": priority, "owner": OWNER}
        | {"created_at": created}
        | changes
    )


# (id, service, severity, resolved, post-mortem)
HISTORY: list[tuple[str, str, Severity, datetime, PostMortem]] = [
    (
        "PA",  # Checkout SEV-1: on time, closed 4 days after; one follow-up on time, one overdue
        "Checkout API",
        Severity.SEV1,
        at(6, 1),
        PostMortem(
            incident_id="pagerduty:PA",
            status=PostMortemStatus.CLOSED,
            status_changed_at=at(6, 5),
            acceptance=OwnerAcceptance(person=OWNER, at=at(6, 1, 11)),
            meeting=_meeting(at(6, 3, 15)),
            milestones=Milestones(
                meeting_deadline=at(6, 4), meeting_booked_at=at(6, 1, 12), review_shared_at=at(6, 2)
            ),
            follow_ups=(
                _follow_up(
                    "1", "P1", at(6, 1, 12), state=FollowUpState.DONE, done_at=at(6, 10)
                ),  # due 15 June: on time
                _follow_up("2", "P1", at(6, 1, 12)),  # due 15 June, still open: overdue
            ),
        ),
    ),
    (
        "PB",  # Checkout SEV-1: meeting after its deadline, closed 6 days after; follow-up late
        "Checkout API",
        Severity.SEV1,
        at(6, 10, 8),
        PostMortem(
            incident_id="pagerduty:PB",
            status=PostMortemStatus.CLOSED,
            status_changed_at=at(6, 16, 8),
            meeting=_meeting(at(6, 15)),
            milestones=Milestones(meeting_deadline=at(6, 13, 8), meeting_booked_at=at(6, 10, 9)),
            follow_ups=(
                _follow_up("1", "P1", at(6, 10), state=FollowUpState.DONE, done_at=at(6, 25)),
            ),  # due 24 June, done the 25th: late
        ),
    ),
    (
        "PC",  # Checkout SEV-2: nothing settled yet (no meeting, open, its follow-up not due)
        "Checkout API",
        Severity.SEV2,
        at(6, 20),
        PostMortem(
            incident_id="pagerduty:PC",
            follow_ups=(_follow_up("1", "P1", at(6, 20)),),  # due 4 July
        ),
    ),
    (
        "PD",  # Search SEV-2: on time, closed 6 days after; its follow-ups have no due date
        "Search",
        Severity.SEV2,
        at(6, 5, 9),
        PostMortem(
            incident_id="pagerduty:PD",
            status=PostMortemStatus.CLOSED,
            status_changed_at=at(6, 11, 9),
            meeting=_meeting(at(6, 10, 16)),
            milestones=Milestones(meeting_deadline=at(6, 12, 9), meeting_booked_at=at(6, 5, 10)),
            follow_ups=(
                _follow_up("1", "P2", at(6, 5), state=FollowUpState.DONE, done_at=at(6, 30)),
                _follow_up("2", "P1", at(6, 5), state=FollowUpState.DROPPED),
            ),
        ),
    ),
    (
        "PE",  # Search SEV-2: on time, in review
        "Search",
        Severity.SEV2,
        at(6, 25, 9),
        PostMortem(
            incident_id="pagerduty:PE",
            status=PostMortemStatus.IN_REVIEW,
            meeting=_meeting(at(6, 29)),
            milestones=Milestones(meeting_deadline=at(6, 30, 9), meeting_booked_at=at(6, 25, 10)),
        ),
    ),
    (
        "PF",  # Search SEV-1 resolved in May: outside the window
        "Search",
        Severity.SEV1,
        at(5, 20),
        PostMortem(incident_id="pagerduty:PF", status=PostMortemStatus.CLOSED),
    ),
    (
        "PG",  # a SEV-3 of a service no team claims
        "Billing",
        Severity.SEV3,
        at(6, 15),
        PostMortem(incident_id="pagerduty:PG"),
    ),
]

# The report over June, by hand:
#   checkout SEV-1: PA, PB. Meetings: PA ends 3 June 15:00 before its deadline (4 June),
#     PB 15 June after its deadline (13 June): 1/2. Closed 4d (PA) and 6d (PB) after
#     resolution: median 5d. Follow-ups: PA-1 done 10 June, due 15 June (on time);
#     PA-2 open, due 15 June, now 30 June (overdue: late); PB-1 done 25 June, due 24 June
#     (late): 1/3.
#   checkout SEV-2: PC. No meeting, not closed, PC-1 due 4 July (not yet judged).
#   none SEV-3: PG. Nothing settled.
#   search SEV-2: PD, PE. Both meetings by their deadlines: 2/2. PD closed 6d after;
#     PE not closed: median 6d. PD-1 is a P2 (no due date), PD-2 dropped: nothing judged.
#   PF was resolved in May.
EXPECTED_TABLE = """\
Post-mortems resolved from 2026-06-01 to 2026-07-01:
team      severity  post-mortems  on-time meetings  median time to close  follow-ups done on time
checkout  SEV-1     2             1/2 (50%)         5d 00h                1/3 (33%)
checkout  SEV-2     1             —                 —                     —
none      SEV-3     1             —                 —                     —
search    SEV-2     2             2/2 (100%)        6d 00h                —
"""
EXPECTED_DUE = {("PA", "1"): date(2026, 6, 15), ("PB", "1"): date(2026, 6, 24)}


async def seed(engine: AsyncEngine) -> None:
    for source_id, service, severity, resolved, pm in HISTORY:
        fields: dict[str, object] = {
            "title": f"Incident {source_id}",
            "reference": f"PD-{source_id}",
            "severity": severity,
            "status": IncidentStatus.RESOLVED,
            "created_at": resolved.replace(hour=resolved.hour - 1),
            "resolved_at": resolved,
            "services": (ServiceRef(id=f"S{service[:3].upper()}", name=service),),
        }
        update = IncidentUpdate.of(Source.PAGERDUTY, source_id, resolved, fields)
        await save_incident(engine, merge(None, update).record, now=resolved)
        await save_postmortem(engine, pm, now=resolved)


def write_files(directory: Path) -> tuple[Path, str]:
    """The policy file, and the `teams:` block a test's pmhub.yaml adds."""
    policy = directory / "history-policy.yaml"
    policy.write_text(POLICY)
    return policy, textwrap.dedent(TEAMS)
