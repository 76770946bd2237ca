"""Intent fingerprints are a stored contract: they must not change across upgrades.

The effects ledger keeps each effect's `Intent.fingerprint()`; the reconciler redoes
an effect whose fingerprint differs. A refactor that changed the digest of an
unchanged intent would, on upgrade, re-send every DM, re-book every meeting and
re-file every ticket. So the digests of every intent of a set of representative
plans are pinned here: the simulate golden fixtures, and the policy scenarios
(owner DM incl. a hand-off, meeting, invitations, upkeep, reminders, follow-ups
incl. a flagged one and an override reason, external message, PagerDuty notes,
the outcome).

The expected digests are in tests/fixtures/intent_fingerprints.json. A failure
here after an *intended* change of what an intent depends on means every running
installation redoes those effects: say so in the release notes, then rewrite the
file with `PMHUB_UPDATE_FINGERPRINTS=1 pytest tests/unit/test_intent_fingerprints.py`
and review its diff. Never rewrite it to make a refactor pass.

The scenarios run on *pinned* copies of the shipped policies
(tests/fixtures/policies/*.pinned.yaml, as they were when the digests were taken):
this test guards the code's canonical JSON, and a shipped policy that grows a new
key (issue 13's `escalate_to`) changes what it asks for, which is not a refactor. A
scenario for each new intent kind adds its own digests.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hub.model.document import CandidateFollowUp, DocumentRecord
from hub.model.incident import (
    Incident,
    IncidentLinks,
    IncidentStatus,
    Person,
    ServiceRef,
    Severity,
    Source,
)
from hub.model.intent import IntentKind
from hub.model.postmortem import (
    BookingNote,
    CancelledMeeting,
    ExternalMessage,
    FollowUp,
    FollowUpState,
    Meeting,
    Override,
    OwnerAcceptance,
    OwnerDesignation,
    PostMortem,
    PostMortemStatus,
    RequirementDrop,
)
from hub.model.vendor_status import VendorPostmortemStatus, VendorStatus
from hub.policy import Plan, PolicySet, load_policies
from tests.unit.fingerprint_simulated import SIMULATE_CASES, simulated_plans

from .policy.factories import (
    ALICE,
    IC,
    RESPONDER,
    incident,
    meeting,
    ny,
    policy_from,
    postmortem,
)
from .policy.factories import plan_for as plan_on

FIXTURES = Path(__file__).parents[1] / "fixtures"
PINNED_PAGERDUTY = FIXTURES / "policies" / "pagerduty-process.pinned.yaml"
POSTHOG_POLICY = FIXTURES / "policies" / "posthog-process.pinned.yaml"
PINNED = load_policies([PINNED_PAGERDUTY])


def plan_for(
    inc: Incident,
    pm: PostMortem | None = None,
    now: datetime | None = None,
    policies: PolicySet | None = None,
) -> Plan:
    """A scenario's plan, on the pinned PagerDuty policy unless it names another.

    Its post-mortem is one an upgrade finds stored (from before issue 16 kept what each
    owner's first DM said: `PostMortem.from_stored`), whose effects must not be redone.
    """
    stored = pm.model_copy(update={"owner_briefings": None}) if pm is not None else None
    return plan_on(inc, stored, now, policies or PINNED)


EXPECTED = FIXTURES / "intent_fingerprints.json"

CAROL = Person(email="carol@example.com", name="Carol Diaz", slack_id="U0CAROL")
BOOKED = meeting(ny(2026, 3, 4, 11, 0), invitees=("sre@example.com",))
LINKED = BOOKED.model_copy(update={"html_link": "https://calendar.example/evt1"})
# As a calendar may report it back: in UTC, not in the policy's zone.
IN_UTC = Meeting(
    event_ref="evt-utc",
    start=datetime(2026, 3, 4, 16, 0, tzinfo=UTC),
    end=datetime(2026, 3, 4, 16, 30, tzinfo=UTC),
    calendar="Incident Post-Mortem Meetings",
    invitees=("ic@example.com",),
    html_link="https://calendar.example/evt-utc",
)
LATE = meeting(ny(2026, 3, 9, 14, 0))
CONFLICTS = BookingNote(
    conflicts=("sre@example.com",),
    optional_conflicts=("eng-learning@example.com",),
    unknown=("product@example.com",),
    not_before=ny(2026, 3, 4, 10),
)
CANCELLED = CancelledMeeting(
    event_ref="evt1",
    start=ny(2026, 3, 4, 11),
    end=ny(2026, 3, 4, 11, 30),
    how="deleted",
    noticed_at=ny(2026, 3, 3, 9),
)
DOCUMENT = DocumentRecord(
    tool="google_docs",
    id="1docId",
    url="https://docs.google.com/document/d/1docId/edit",
    created_at=ny(2026, 3, 2, 10, 5),
)
CANDIDATES = (
    CandidateFollowUp(id="todo-1", text="TODO: alert on drift", at=ny(2026, 3, 2, 9)),
    CandidateFollowUp(
        id="todo-2", text="follow up on TLS", at=ny(2026, 3, 2, 9, 5), follow_up_id="1"
    ),
)
OVERRIDE = Override(by=IC, reason="customer-facing data loss risk", at=ny(2026, 3, 5, 15))


def _designated(*handed: tuple[Person, Person]) -> tuple[OwnerDesignation, ...]:
    """Each (new owner, named by), an hour apart from 11:00 on the day of resolution."""
    return tuple(
        OwnerDesignation(person=person, by=by, reason="on leave", at=ny(2026, 3, 2, 11 + n))
        for n, (person, by) in enumerate(handed)
    )


def _follow_ups() -> tuple[FollowUp, ...]:
    return (
        FollowUp(id="1", summary="Alert on checkout 5xx", priority="P1", owner=ALICE),
        FollowUp(id="2", summary="Runbook for TLS renewals", priority="P2"),
        FollowUp(id="3", summary="Load test", priority="P2", priority_override=OVERRIDE),
        FollowUp(id="4", summary="Filed already", priority="P0", tracker_key="OPS-4"),
        FollowUp(id="5", summary="Dropped", priority="P3", state=FollowUpState.DROPPED),
    )


# Issue 13: a rule with an escalation ladder, for the escalation that climbs.
LADDER_POLICY = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
directory:
  default: {engineering_manager: [em@example.com]}
rules:
  - name: major
    postmortem: required
    owner: [designated, incident_commander]
    meeting: {calendar: PMs, deadline: {default: 3 calendar days}}
    reminders:
      - {if: overdue, every: 1 business day, notify: [owner, incident_commander],
         escalate_to: [engineering_manager, S0SRELEADS]}
"""
NOBODY = {
    "incident_commander": None,
    "acknowledgers": (),
    "primary_oncall": None,
    "manual_trigger": None,
}
DOC = IncidentLinks(postmortem_document_id="01DOC")
IO = {"id": "incidentio:01X", "source": Source.INCIDENTIO, "source_id": "01X", "links": DOC}
HELD = meeting(ny(2026, 3, 4, 11))
DROPPED = RequirementDrop(at=ny(2026, 3, 2, 13), required_by="major")


def _reported(status: VendorPostmortemStatus) -> VendorStatus:
    return VendorStatus(
        source="incidentio", document_id="01DOC", status=status, at=ny(2026, 3, 5, 9)
    )


NO_SLOT_POLICY = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
rules:
  - name: major
    postmortem: required
    meeting: {calendar: PMs, deadline: {default: 12h}}
"""

# Issue 15: follow-ups with due dates, and a team routed to its own places.
DUE_POLICY = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
directory:
  default: {engineering_manager: em@example.com}
rules:
  - name: dues
    postmortem: required
    follow_ups:
      due: {P1: 2 weeks}
      remind: {before: 2 business days}
      escalate: {to: [engineering_manager]}
"""
ROUTED_POLICY = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
targets:
  slack: {channel: C0CHKOUT1, review_channel: C0CHKREV1}
  calendar: {id: checkout@group.calendar.google.com}
  jira: {project: CHK, issue_type: Bug, components: [Checkout]}
  statuspage: {page_id: chkpage, components: [cmp1]}
rules:
  - name: routed
    postmortem: required
    meeting: {calendar: PMs, deadline: {default: 5 business days}}
    review: {share_before_meeting: 24h}
    external_message: {required_for: [SEV-2]}
"""


def _due_items() -> tuple[FollowUp, ...]:
    added = ny(2026, 3, 2, 11)
    return (
        FollowUp(id="1", summary="Alert", priority="P1", owner=ALICE, created_at=added),
        FollowUp(id="2", summary="Runbook", priority="P1", created_at=added, tracker_key="OPS-2"),
    )


SCENARIOS: dict[str, Callable[[], Plan]] = {
    "sev1_fresh": lambda: plan_for(incident(severity=Severity.SEV1)),
    "sev2_no_postmortem_yet": lambda: plan_for(incident()),
    "sev2_draft": lambda: plan_for(incident(), postmortem(document_url="https://docs/pm1")),
    "unresolved_role": lambda: plan_for(incident(services=(ServiceRef(id="PX", name="Other"),))),
    "no_working_slot": lambda: plan_for(
        incident(resolved_at=ny(2026, 11, 25, 18)), policies=policy_from(NO_SLOT_POLICY)
    ),
    "booked_with_invites": lambda: plan_for(
        incident(),
        postmortem(meeting=BOOKED, document_url="https://docs/pm1"),
        now=ny(2026, 3, 2, 12, 30),
    ),
    "booked_with_link": lambda: plan_for(
        incident(severity=Severity.SEV1), postmortem(meeting=LINKED)
    ),
    "booked_by_hand": lambda: plan_for(
        incident(), postmortem(meeting=BOOKED.model_copy(update={"event_ref": None}))
    ),
    "booked_in_utc": lambda: plan_for(incident(), postmortem(meeting=IN_UTC)),
    "accepted": lambda: plan_for(
        incident(),
        postmortem(
            meeting=BOOKED, acceptance=OwnerAcceptance(person=IC, at=ny(2026, 3, 2, 11, 30))
        ),
    ),
    "hand_off": lambda: plan_for(
        incident(),
        postmortem(designations=_designated((CAROL, IC)), meeting=LINKED),
        now=ny(2026, 3, 3, 10),
    ),
    "two_hand_offs": lambda: plan_for(
        incident(),
        postmortem(designations=_designated((ALICE, IC), (RESPONDER, ALICE))),
        now=ny(2026, 3, 3, 10),
    ),
    "handed_back": lambda: plan_for(
        incident(), postmortem(designations=_designated((CAROL, IC), (IC, IC)))
    ),
    "late_meeting": lambda: plan_for(incident(), postmortem(meeting=LATE)),
    "booked_with_conflicts": lambda: plan_for(
        incident(), postmortem(meeting=BOOKED.model_copy(update={"booking": CONFLICTS}))
    ),
    "meeting_cancelled": lambda: plan_for(
        incident(), postmortem(cancelled_meetings=(CANCELLED,)), now=ny(2026, 3, 3, 10)
    ),
    "reopened": lambda: plan_for(
        incident(status=IncidentStatus.ACKNOWLEDGED, resolved_at=None), postmortem(meeting=BOOKED)
    ),
    "overdue_nobody_commands": lambda: plan_for(
        incident(incident_commander=None), now=ny(2026, 3, 11, 12)
    ),
    "overdue_in_review": lambda: plan_for(
        incident(),
        postmortem(status=PostMortemStatus.IN_REVIEW, meeting=BOOKED),
        now=ny(2026, 3, 11, 12),
    ),
    "follow_ups": lambda: plan_for(
        incident(), postmortem(follow_ups=_follow_ups(), document_url="https://docs/pm1")
    ),
    "follow_ups_reviewed": lambda: plan_for(
        incident(),
        postmortem(status=PostMortemStatus.REVIEWED, meeting=BOOKED, follow_ups=_follow_ups()),
        now=ny(2026, 3, 12, 12),
    ),
    "external_message_requested": lambda: plan_for(incident(severity=Severity.SEV1), postmortem()),
    "external_message_published": lambda: plan_for(
        incident(severity=Severity.SEV1),
        postmortem(
            status=PostMortemStatus.REVIEWED,
            meeting=LINKED,
            external_message=ExternalMessage(body="  Checkout was degraded for 20 minutes.\n"),
        ),
    ),
    "closed_with_outcome": lambda: plan_for(
        incident(),
        postmortem(
            status=PostMortemStatus.CLOSED,
            document_url="https://docs/pm1",
            follow_ups=(
                FollowUp(id="1", summary="Alert", priority="P1", tracker_key="OPS-1"),
                FollowUp(id="2", summary="Runbook", priority="P2"),
            ),
        ),
    ),
    "closed_incidentio": lambda: plan_for(
        incident(id="incidentio:01X", source=Source.INCIDENTIO, source_id="01X"),
        postmortem(incident_id="incidentio:01X", status=PostMortemStatus.CLOSED),
    ),
    "optional_false_positive": lambda: plan_for(
        incident(severity=Severity.SEV3, false_positive=True)
    ),
    # -- issue 13 ---------------------------------------------------------------------
    "nobody_owns_it": lambda: plan_for(incident(**NOBODY)),
    "taken_after_nobody_owned": lambda: plan_for(
        incident(**NOBODY),
        postmortem(designations=(OwnerDesignation(person=ALICE, by=ALICE, at=ny(2026, 3, 2, 11)),)),
    ),
    "requirement_dropped": lambda: plan_for(
        incident(severity=Severity.SEV3),
        postmortem(required_by="major", requirement_dropped=DROPPED, meeting=BOOKED),
    ),
    "closed_not_needed_after_drop": lambda: plan_for(
        incident(severity=Severity.SEV3),
        postmortem(
            status=PostMortemStatus.CLOSED,
            required_by="major",
            requirement_dropped=DROPPED.model_copy(
                update={"answer": "close", "answered_by": IC, "answered_at": ny(2026, 3, 2, 14)}
            ),
            not_needed_reason="no longer required: the incident is now SEV-3",
            meeting=BOOKED,
        ),
    ),
    "reopened_after_meeting": lambda: plan_for(
        incident(status=IncidentStatus.ACKNOWLEDGED, resolved_at=None),
        postmortem(meeting=HELD),
        now=ny(2026, 3, 5, 12),
    ),
    "unassigned_follow_up": lambda: plan_for(
        incident(),
        postmortem(
            follow_ups=(
                FollowUp(
                    id="7",
                    summary="Alert on checkout 5xx",
                    priority="P1",
                    owner=CAROL,
                    tracker_key="OPS-7",
                    tracker_url="https://jira.example/browse/OPS-7",
                    unassigned_reason="Jira knows no active user with the email carol@example.com",
                ),
            )
        ),
    ),
    "incidentio_completed": lambda: plan_for(
        incident(**IO),
        postmortem(
            incident_id="incidentio:01X",
            status=PostMortemStatus.IN_REVIEW,
            meeting=HELD,
            no_follow_ups=True,
            vendor_status=_reported(VendorPostmortemStatus.COMPLETED),
        ),
        now=ny(2026, 3, 5, 12),
    ),
    "incidentio_completed_but_blocked": lambda: plan_for(
        incident(**IO),
        postmortem(
            incident_id="incidentio:01X",
            status=PostMortemStatus.IN_REVIEW,
            meeting=HELD,
            vendor_status=_reported(VendorPostmortemStatus.COMPLETED),
        ),
        now=ny(2026, 3, 5, 12),
    ),
    "incidentio_in_review_written_back": lambda: plan_for(
        incident(**IO),
        postmortem(incident_id="incidentio:01X", status=PostMortemStatus.IN_REVIEW, meeting=HELD),
        now=ny(2026, 3, 5, 12),
    ),
    "escalation_climbs": lambda: plan_for(
        incident(), now=ny(2026, 3, 6, 12), policies=policy_from(LADDER_POLICY)
    ),
    # The post-mortem document (issue 14): written, its draft kept, TODOs offered.
    "document_written": lambda: plan_for(
        incident(),
        postmortem(
            meeting=LINKED,
            document_url=DOCUMENT.url,
            document=DOCUMENT,
            candidates=CANDIDATES,
            follow_ups=_follow_ups(),
        ),
    ),
    "document_reviewed_email": lambda: plan_for(
        incident(severity=Severity.SEV1),
        postmortem(
            status=PostMortemStatus.REVIEWED,
            status_changed_at=ny(2026, 3, 5, 11),
            meeting=LINKED,
            document_url=DOCUMENT.url,
            document=DOCUMENT,
        ),
        now=ny(2026, 3, 5, 12),
    ),
    "posthog_policy": lambda: plan_for(
        incident(
            id="incidentio:01Y", source=Source.INCIDENTIO, source_id="01Y", severity=Severity.SEV1
        ),
        postmortem(incident_id="incidentio:01Y", meeting=IN_UTC),
        policies=load_policies([POSTHOG_POLICY]),
    ),
    "follow_up_dues": lambda: plan_for(
        incident(),
        postmortem(follow_ups=_due_items()),
        now=ny(2026, 3, 13, 12),
        policies=policy_from(DUE_POLICY),
    ),
    "follow_up_escalated": lambda: plan_for(
        incident(),
        postmortem(follow_ups=_due_items(), status=PostMortemStatus.CLOSED),
        now=ny(2026, 3, 20, 12),
        policies=policy_from(DUE_POLICY),
    ),
    "routed": lambda: plan_for(
        incident(),
        postmortem(
            status=PostMortemStatus.REVIEWED,
            meeting=BOOKED,
            document_url="https://docs/pm1",
            follow_ups=(FollowUp(id="1", summary="Alert", priority="P1", owner=ALICE),),
            external_message=ExternalMessage(body="Checkout was degraded for 20 minutes."),
        ),
        now=ny(2026, 3, 3, 12),
        policies=policy_from(ROUTED_POLICY),
    ),
}


def current_fingerprints() -> dict[str, str]:
    """`<scenario> <intent key>` -> fingerprint, for every intent of every scenario."""
    found: dict[str, str] = {}
    for name, scenario in SCENARIOS.items():
        for intent in scenario().intents:
            found[f"{name} {intent.key}"] = intent.fingerprint()
    policies = load_policies([PINNED_PAGERDUTY, POSTHOG_POLICY])
    for case in SIMULATE_CASES:
        for n, plan in enumerate(asyncio.run(simulated_plans(policies, case))):
            for intent in plan.intents:
                found[f"simulate:{case}#{n} {intent.key}"] = intent.fingerprint()
    return found


def test_every_intent_kind_is_covered() -> None:
    kinds = {intent.kind for scenario in SCENARIOS.values() for intent in scenario().intents}
    assert kinds == set(IntentKind)


def test_fingerprints_have_not_changed() -> None:
    found = current_fingerprints()
    if os.environ.get("PMHUB_UPDATE_FINGERPRINTS"):
        EXPECTED.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    expected = json.loads(EXPECTED.read_text())
    changed = sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k])
    assert changed == []
    assert found == expected
