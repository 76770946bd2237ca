"""Decisions 6 and 7: follow-up tickets (labels, allowed priorities) and the external message."""

from __future__ import annotations

import pytest

from hub.model.incident import Severity
from hub.model.intent import (
    FileFollowUp,
    FlagFollowUp,
    IntentKind,
    NotifyOwner,
    PublishExternalMessage,
    RequestExternalMessage,
)
from hub.model.postmortem import (
    ExternalMessage,
    FollowUp,
    FollowUpState,
    Override,
    OwnerBriefing,
    PostMortemStatus,
)
from hub.policy import lint_external_message
from hub.policy.schema import STATUSPAGE_BODY_LIMIT, ExternalMessageSpec, ForbiddenWordSpec

from .factories import ALICE, IC, incident, keys, meeting, ny, payload, plan_for, postmortem

PREFIX = "pm:pagerduty:P1:"
OVERRIDE = Override(by=IC, reason="customer-facing data loss risk", at=ny(2026, 3, 5, 15))


def followup(id_: str, priority: str, **changes: object) -> FollowUp:
    return FollowUp(id=id_, summary=f"item {id_}", priority=priority, **changes)


def test_allowed_priorities_are_filed_with_rendered_labels() -> None:
    pm = postmortem(follow_ups=(followup("1", "P1", owner=ALICE),), document_url="https://d/1")
    plan = plan_for(incident(), pm)
    ticket = plan.intent(PREFIX + "followup:1:ticket")
    assert ticket is not None
    assert ticket.kind is IntentKind.FILE_FOLLOWUP
    filing = payload(ticket, FileFollowUp)
    assert filing.labels == ("postmortem", "sev-2", "2026-03")
    assert filing.owner == ALICE
    assert filing.postmortem_url == "https://d/1"


def test_label_month_is_the_local_month() -> None:
    # 2026-03-31 23:30 in New York is already April in UTC.
    inc = incident(resolved_at=ny(2026, 3, 31, 23, 30))
    plan = plan_for(inc, postmortem(follow_ups=(followup("1", "P0"),)), now=ny(2026, 4, 1, 9))
    ticket = plan.intent(PREFIX + "followup:1:ticket")
    assert payload(ticket, FileFollowUp).labels == ("postmortem", "sev-2", "2026-03")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (followup("1", "P0"), ["followup:1:ticket"]),
        (followup("1", "p1"), ["followup:1:ticket"]),  # priorities compare case-insensitively
        (followup("1", "P2"), ["followup:1:flag"]),
        (followup("1", "P2", priority_override=OVERRIDE), ["followup:1:ticket"]),
        (followup("1", "P1", tracker_key="OPS-1"), []),  # already filed
        (followup("1", "P3", state=FollowUpState.DROPPED), []),
        (followup("1", "P1", state=FollowUpState.DONE), []),
    ],
)
def test_follow_up_priorities(item: FollowUp, expected: list[str]) -> None:
    plan = plan_for(incident(), postmortem(follow_ups=(item,)))
    found = [k.removeprefix(PREFIX) for k in keys(plan) if ":followup:" in k]
    assert found == expected


def test_flagged_follow_up_says_why() -> None:
    plan = plan_for(incident(), postmortem(follow_ups=(followup("7", "P3"),)))
    flag = plan.intent(PREFIX + "followup:7:flag")
    assert flag is not None
    assert flag.kind is IntentKind.FLAG_FOLLOWUP
    assert payload(flag, FlagFollowUp).allowed == ("P0", "P1")
    assert "follow-up 7: priority P3 is not one the policy files (P0, P1)" in plan.problems[-1]


def test_override_reason_travels_with_the_ticket() -> None:
    item = followup("1", "P2", priority_override=OVERRIDE)
    ticket = plan_for(incident(), postmortem(follow_ups=(item,))).intent(
        PREFIX + "followup:1:ticket"
    )
    reason = payload(ticket, FileFollowUp).priority_override_reason
    assert reason == "customer-facing data loss risk"


SEV1 = incident(severity=Severity.SEV1)
REVIEWED = {"status": PostMortemStatus.REVIEWED, "meeting": meeting(ny(2026, 3, 4, 14))}


def test_sev1_asks_the_owner_for_an_external_message_in_their_dm() -> None:
    plan = plan_for(SEV1, postmortem())
    assert plan.external_message_required
    dm = plan.intent(PREFIX + f"owner:notify:{IC.key}")
    assert dm is not None
    assert payload(dm, NotifyOwner).asks_external_message is True
    assert PREFIX + "external-message:request" not in keys(plan)
    assert not plan_for(incident(), postmortem()).external_message_required


def test_sev1_requests_an_external_message_apart_when_the_owner_was_told_before() -> None:
    """The owner's first DM did not ask for it (the severity was raised later): a
    request of its own."""
    told = postmortem(owner_briefings=(OwnerBriefing(person_key=IC.key),))
    plan = plan_for(SEV1, told)
    request = plan.intent(PREFIX + "external-message:request")
    assert request is not None
    assert payload(request, RequestExternalMessage).recipient == IC
    dm = plan.intent(PREFIX + f"owner:notify:{IC.key}")
    assert dm is not None
    assert payload(dm, NotifyOwner).asks_external_message is None


def test_external_message_is_published_only_after_review() -> None:
    message = ExternalMessage(body="Checkout was degraded for 20 minutes.")
    draft = plan_for(SEV1, postmortem(external_message=message))
    assert PREFIX + "external-message:publish" not in keys(draft)
    assert "the external message is published once the post-mortem is Reviewed" in draft.notes
    reviewed = plan_for(SEV1, postmortem(external_message=message, **REVIEWED))
    publish = reviewed.intent(PREFIX + "external-message:publish")
    assert publish is not None
    assert publish.kind is IntentKind.PUBLISH_EXTERNAL_MESSAGE
    assert payload(publish, PublishExternalMessage).body == "Checkout was degraded for 20 minutes."


def test_external_message_failing_the_lint_is_not_published() -> None:
    message = ExternalMessage(body="We had an outage of checkout.")
    plan = plan_for(SEV1, postmortem(external_message=message, **REVIEWED))
    assert PREFIX + "external-message:publish" not in keys(plan)
    assert any(p.startswith("external message: avoid 'outage'") for p in plan.problems)


def test_published_message_needs_nothing() -> None:
    message = ExternalMessage(body="Degraded.", published_ref="sp-1")
    plan = plan_for(SEV1, postmortem(external_message=message, **REVIEWED))
    assert not [k for k in keys(plan) if "external-message" in k]


SPEC = ExternalMessageSpec(forbidden_words=[ForbiddenWordSpec(word="outage", unless="full_outage")])


@pytest.mark.parametrize(
    ("body", "full_outage_incident", "full_outage_message", "problems"),
    [
        ("Service degradation in checkout.", False, False, []),
        ("A full Outage of the API.", False, False, ["avoid 'Outage'"]),
        ("Several outages yesterday.", False, False, ["avoid 'outages'"]),
        ("The request timeout was too short.", False, False, []),  # 'timeout' is not 'outage'
        ("A full outage of the API.", True, False, []),
        ("A full outage of the API.", False, True, []),  # reviewers confirmed it
        ("   ", False, False, ["the external message is empty"]),
        ("x" * (STATUSPAGE_BODY_LIMIT + 1), False, False, ["has 25001 characters"]),
    ],
)
def test_external_message_lint(
    body: str, full_outage_incident: bool, full_outage_message: bool, problems: list[str]
) -> None:
    found = lint_external_message(
        ExternalMessage(body=body, full_outage=full_outage_message),
        SPEC,
        incident(full_outage=full_outage_incident),
    )
    assert len(found) == len(problems)
    for text, expected in zip(found, problems, strict=True):
        assert expected in text
