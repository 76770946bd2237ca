"""Issue 16: the owner's first message is one message, naming the roles nobody holds.

With the shipped policy, an incident on service PX has nobody for the role
`incident_commander_shadow`. Before, the owner got their DM and, beside it, a second
DM about that role, which raced the first for the DM channel's pacing slot.
"""

from __future__ import annotations

from datetime import timedelta

from hub.model.incident import Person, RoleHolder, ServiceRef, Severity
from hub.model.intent import IntentKind, NotifyOwner, ReportUnresolvedRole
from hub.model.postmortem import ExternalMessage, OwnerBriefing, OwnerDesignation, PostMortem
from hub.policy import Plan
from hub.policy.owner_briefing import note_owner_briefings
from hub.policy.requirement import track

from .factories import ALICE, IC, incident, ny, payload, plan_for, postmortem

ROLE = "incident_commander_shadow"
OTHER_SERVICE = (ServiceRef(id="PX", name="Other"),)
DM = f"pm:pagerduty:P1:owner:notify:{IC.key}"
ROLE_REPORT = f"pm:pagerduty:P1:meeting:unresolved:{ROLE}"
# Someone holds the role (incident.io-style, via the policy's vendor_roles).
SHADOW = (RoleHolder(role="Shadow", person=Person(email="shadow@example.com")),)


def _reports(plan: Plan) -> list[str]:
    return [i.key for i in plan.intents if i.kind is IntentKind.REPORT_UNRESOLVED_ROLE]


def _recorded(pm: PostMortem) -> PostMortem:
    """What the reconciler stores after the plan (`track`), as it does each reconcile."""
    return track(pm, plan_for(incident(services=OTHER_SERVICE), pm), ny(2026, 3, 2, 12, 0))


def test_the_first_dm_names_the_unresolved_role_and_no_second_message_is_planned() -> None:
    plan = plan_for(incident(services=OTHER_SERVICE), postmortem())
    assert payload(plan.intent(DM), NotifyOwner).unresolved_roles == (ROLE,)
    assert _reports(plan) == []
    # Still a problem of the plan (`pmhub explain` shows it).
    assert f"nobody holds the role {ROLE!r}: invite them by hand" in plan.problems


def test_the_reconciler_records_what_the_first_dm_named() -> None:
    recorded = _recorded(postmortem())
    assert recorded.owner_briefings == (OwnerBriefing(person_key=IC.key, unresolved_roles=(ROLE,)),)
    # Recorded once: the next reconcile changes nothing.
    assert _recorded(recorded) == recorded


def test_the_plan_is_the_same_before_and_after_the_record() -> None:
    """The effect jobs the first reconcile enqueued are not re-run or dropped by the second."""
    first = plan_for(incident(services=OTHER_SERVICE), postmortem())
    again = plan_for(incident(services=OTHER_SERVICE), _recorded(postmortem()))
    assert {i.key: i.fingerprint() for i in again.intents} == {
        i.key: i.fingerprint() for i in first.intents
    }


def test_a_role_unresolved_later_gets_its_own_message() -> None:
    told_nothing = postmortem(owner_briefings=(OwnerBriefing(person_key=IC.key),))
    plan = plan_for(incident(services=OTHER_SERVICE), told_nothing)
    assert payload(plan.intent(DM), NotifyOwner).unresolved_roles is None
    report = payload(plan.intent(ROLE_REPORT), ReportUnresolvedRole)
    assert (report.role, report.recipient) == (ROLE, IC)


def test_a_role_named_in_the_dm_and_resolved_since_leaves_the_dm() -> None:
    told = postmortem(owner_briefings=(OwnerBriefing(person_key=IC.key, unresolved_roles=(ROLE,)),))
    plan = plan_for(incident(roles=SHADOW), told)  # someone holds the role now
    assert payload(plan.intent(DM), NotifyOwner).unresolved_roles is None
    assert _reports(plan) == []


def test_a_new_owner_is_told_the_unresolved_roles_in_their_own_first_dm() -> None:
    handed = postmortem(
        owner_briefings=(OwnerBriefing(person_key=IC.key),),
        designations=(OwnerDesignation(person=ALICE, by=IC, at=ny(2026, 3, 2, 11)),),
    )
    plan = plan_for(incident(services=OTHER_SERVICE), handed)
    new_dm = payload(plan.intent(f"pm:pagerduty:P1:owner:notify:{ALICE.key}"), NotifyOwner)
    assert new_dm.unresolved_roles == (ROLE,)
    assert _reports(plan) == []
    recorded = note_owner_briefings(handed, plan)
    assert recorded.owner_briefings == (
        OwnerBriefing(person_key=IC.key),
        OwnerBriefing(person_key=ALICE.key, unresolved_roles=(ROLE,)),
    )


def test_a_dm_naming_no_role_keeps_its_fingerprint() -> None:
    """An install upgraded mid-process: DMs done before are not re-run for nothing."""
    plan = plan_for(incident(roles=SHADOW), postmortem())
    dm = payload(plan.intent(DM), NotifyOwner)
    assert dm.unresolved_roles is None
    assert "unresolved_roles" not in dm.canonical()


def test_keys_are_unchanged() -> None:
    """Effects done or pending under the old keys are the same effects after an upgrade."""
    plan = plan_for(incident(services=OTHER_SERVICE), postmortem())
    assert plan.intent(DM) is not None
    told_nothing = postmortem(owner_briefings=(OwnerBriefing(person_key=IC.key),))
    assert plan_for(incident(services=OTHER_SERVICE), told_nothing).intent(ROLE_REPORT)


def _stored_before_issue_16(pm: PostMortem) -> PostMortem:
    data = pm.model_dump(mode="json")
    del data["owner_briefings"]
    return PostMortem.from_stored(data)


def test_a_post_mortem_stored_before_the_upgrade_keeps_its_plan() -> None:
    """Upgraded mid-process: its owner's DM is not edited, its role message not dropped."""
    legacy = _stored_before_issue_16(postmortem())
    assert legacy.owner_briefings is None
    plan = plan_for(incident(services=OTHER_SERVICE), legacy)
    assert payload(plan.intent(DM), NotifyOwner).unresolved_roles is None
    assert _reports(plan) == [ROLE_REPORT]
    # Recorded as it was (the owner's DM named no role): the next plan is the same.
    recorded = _recorded(legacy)
    assert recorded.owner_briefings == (OwnerBriefing(person_key=IC.key, upgraded=True),)
    again = plan_for(incident(services=OTHER_SERVICE), recorded)
    assert [(i.key, i.fingerprint()) for i in again.intents] == [
        (i.key, i.fingerprint()) for i in plan.intents
    ]


def test_a_post_mortem_stored_since_reads_back_as_it_was() -> None:
    pm = _recorded(postmortem())
    assert PostMortem.from_stored(pm.model_dump(mode="json")) == pm


EXTERNAL_REQUEST = "pm:pagerduty:P1:external-message:request"


def test_other_messages_to_the_owner_come_after_their_dm() -> None:
    """Raised to SEV-1 after the owner was told (their DM asked for no external message):
    the request of its own does not race the DM."""
    started = ny(2026, 3, 2, 11, 59)
    plan = plan_for(incident(severity=Severity.SEV1), _recorded(postmortem(created_at=started)))
    request = plan.intent(EXTERNAL_REQUEST)
    assert request is not None
    assert request.due_at == started + timedelta(seconds=1)
    dm = plan.intent(DM)
    assert dm is not None
    assert dm.due_at is None


def test_a_post_mortem_from_before_the_upgrade_keeps_its_requests_due_at_once() -> None:
    stored = _stored_before_issue_16(postmortem(created_at=ny(2026, 3, 2, 11, 59)))
    for pm in (stored, _recorded(stored)):
        request = plan_for(incident(severity=Severity.SEV1), pm).intent(EXTERNAL_REQUEST)
        assert request is not None
        assert request.due_at is None


SEV1 = incident(severity=Severity.SEV1)


def test_the_first_dm_asks_for_the_external_message_and_no_request_is_planned() -> None:
    """SEV-1: one message to the owner, not the DM and a request racing it (issue 16)."""
    plan = plan_for(SEV1, postmortem())
    assert payload(plan.intent(DM), NotifyOwner).asks_external_message is True
    assert plan.intent(EXTERNAL_REQUEST) is None
    recorded = track(postmortem(), plan, ny(2026, 3, 2, 12, 0))
    assert recorded.owner_briefings is not None
    assert [(b.person_key, b.external_message) for b in recorded.owner_briefings] == [
        (IC.key, True)
    ]
    again = plan_for(SEV1, recorded)
    assert {i.key: i.fingerprint() for i in again.intents} == {
        i.key: i.fingerprint() for i in plan.intents
    }


def test_a_written_external_message_leaves_the_dm() -> None:
    told = postmortem(owner_briefings=(OwnerBriefing(person_key=IC.key, external_message=True),))
    written = told.model_copy(update={"external_message": ExternalMessage(body="Degraded.")})
    plan = plan_for(SEV1, written)
    assert payload(plan.intent(DM), NotifyOwner).asks_external_message is None
    assert plan.intent(EXTERNAL_REQUEST) is None


def test_a_new_owner_is_asked_for_the_external_message_in_their_first_dm() -> None:
    handed = postmortem(
        owner_briefings=(OwnerBriefing(person_key=IC.key, external_message=True),),
        designations=(OwnerDesignation(person=ALICE, by=IC, at=ny(2026, 3, 2, 11)),),
    )
    plan = plan_for(SEV1, handed)
    new_dm = payload(plan.intent(f"pm:pagerduty:P1:owner:notify:{ALICE.key}"), NotifyOwner)
    assert new_dm.asks_external_message is True
    assert plan.intent(EXTERNAL_REQUEST) is None


def test_a_briefing_stored_before_the_external_message_fold_reads_back_as_asking_nothing() -> None:
    """Stored by the release that folded only the roles: its owner got the request apart."""
    data = postmortem(owner_briefings=(OwnerBriefing(person_key=IC.key),)).model_dump(mode="json")
    del data["owner_briefings"][0]["external_message"]
    stored = PostMortem.from_stored(data)
    plan = plan_for(SEV1, stored)
    assert payload(plan.intent(DM), NotifyOwner).asks_external_message is None
    assert plan.intent(EXTERNAL_REQUEST) is not None
