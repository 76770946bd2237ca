"""Decision 2: the owner - explicit designation wins, else the rule's chain; hand-offs recorded."""

from __future__ import annotations

from typing import Any

import pytest

from hub.model.incident import Acknowledgement, Person, Severity
from hub.model.intent import IntentKind, NotifyOwner
from hub.model.postmortem import OwnerDesignation
from hub.policy.owner import choose_owner

from .factories import (
    ACK,
    ALICE,
    IC,
    ONCALL,
    RESPONDER,
    TRIGGER,
    incident,
    ny,
    payload,
    plan_for,
    policy_from,
    postmortem,
)

CHAIN = [
    "designated",
    "incident_commander",
    "first_acknowledger",
    "primary_oncall",
    "manual_trigger",
]
LATE_ACK = Person(email="late@example.com")


@pytest.mark.parametrize(
    ("changes", "owner", "reason"),
    [
        ({}, IC, "incident_commander"),
        ({"incident_commander": None}, ACK, "first_acknowledger"),
        (
            # The earliest acknowledgement wins, whatever order the vendor listed them in.
            {
                "incident_commander": None,
                "acknowledgers": (
                    Acknowledgement(person=LATE_ACK, at=ny(2026, 3, 2, 9, 0)),
                    Acknowledgement(person=ACK, at=ny(2026, 3, 2, 8, 5)),
                ),
            },
            ACK,
            "first_acknowledger",
        ),
        ({"incident_commander": None, "acknowledgers": ()}, ONCALL, "primary_oncall"),
        (
            {"incident_commander": None, "acknowledgers": (), "primary_oncall": None},
            TRIGGER,
            "manual_trigger",
        ),
    ],
)
def test_chain(changes: dict[str, Any], owner: Person, reason: str) -> None:
    choice = choose_owner(incident(**changes), None, CHAIN)
    assert choice is not None
    assert (choice.person, choice.reason) == (owner, reason)


def test_nobody_in_the_chain_is_a_problem_not_a_crash() -> None:
    nobody = incident(
        severity=Severity.SEV2,
        incident_commander=None,
        acknowledgers=(),
        primary_oncall=None,
        manual_trigger=None,
    )
    plan = plan_for(nobody)
    assert plan.owner is None
    assert any("designate an owner" in problem for problem in plan.problems)
    assert not any(i.kind is IntentKind.SCHEDULE_MEETING for i in plan.intents)


def test_explicit_designation_wins_even_when_the_chain_omits_it() -> None:
    pm = postmortem(designations=(OwnerDesignation(person=ALICE, by=IC, at=ny(2026, 3, 2, 11)),))
    choice = choose_owner(incident(), pm, ["incident_commander"])
    assert choice is not None
    assert (choice.person, choice.reason, choice.designated_by) == (ALICE, "designated", IC)


def test_hand_off_keeps_history_and_notifies_the_new_owner() -> None:
    pm = postmortem(
        designations=(
            # Listed out of order on purpose: the newest designation is in force.
            OwnerDesignation(person=RESPONDER, by=ALICE, reason="on leave", at=ny(2026, 3, 3, 9)),
            OwnerDesignation(person=ALICE, by=IC, at=ny(2026, 3, 2, 11)),
        )
    )
    plan = plan_for(incident(), pm, now=ny(2026, 3, 3, 10))
    assert plan.owner is not None
    assert (plan.owner.person, plan.owner.previous) == (RESPONDER, ALICE)
    notify = plan.intent("pm:pagerduty:P1:owner:notify:email:responder@example.com")
    assert notify is not None
    assert payload(notify, NotifyOwner).previous_owner == ALICE
    assert "Handed over from Alice" in notify.message


def test_owner_notification_says_owning_is_not_blame() -> None:
    plan = plan_for(incident(severity=Severity.SEV2))
    notify = plan.intent("pm:pagerduty:P1:owner:notify:email:ic@example.com")
    assert notify is not None
    assert notify.kind is IntentKind.NOTIFY_OWNER
    assert (notify.rule, notify.clause) == ("major", "owner")
    assert "not blame" in notify.message
    assert "Mon 09 Mar 10:00 EDT" in notify.message  # the SEV-2 deadline, in local time


def test_an_email_in_the_chain_is_a_named_fallback() -> None:
    policies = policy_from(
        """\
        version: 1
        rules:
          - name: all
            postmortem: required
            owner: [designated, incident_commander, sre-lead@example.com]
        """
    )
    plan = plan_for(incident(incident_commander=None), policies=policies)
    assert plan.owner is not None
    assert (plan.owner.person.email, plan.owner.reason) == (
        "sre-lead@example.com",
        "sre-lead@example.com",
    )
