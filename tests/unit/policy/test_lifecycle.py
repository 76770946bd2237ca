"""Decision 8: Draft -> In Review -> Reviewed -> Closed, guarded, with an audit record each time."""

from __future__ import annotations

from typing import Any

import pytest

from hub.model.incident import Severity
from hub.model.postmortem import (
    ExternalMessage,
    FollowUp,
    FollowUpState,
    OwnerDesignation,
    PostMortem,
    PostMortemStatus,
)
from hub.policy import close_as_not_needed, transition
from hub.policy.plan import Plan

from .factories import ALICE, IC, incident, meeting, ny, plan_for, postmortem

S = PostMortemStatus
NOW = ny(2026, 3, 5, 15)
MEETING = meeting(ny(2026, 3, 5, 14))  # started an hour before NOW
LATER = meeting(ny(2026, 3, 6, 14))
OWNED = (OwnerDesignation(person=ALICE, by=IC, at=ny(2026, 3, 2, 11)),)
FILED = (FollowUp(id="1", summary="x", priority="P1", tracker_key="OPS-1"),)
OPEN = (FollowUp(id="2", summary="y", priority="P1"),)
PUBLISHED = ExternalMessage(body="Degraded.", published_ref="sp-1")
UNPUBLISHED = ExternalMessage(body="Degraded.")

SEV2_PLAN = plan_for(incident(severity=Severity.SEV2))
SEV1_PLAN = plan_for(incident(severity=Severity.SEV1))


def pm(status: PostMortemStatus, **changes: Any) -> PostMortem:
    return postmortem(status=status, **changes)


@pytest.mark.parametrize(
    ("start", "to", "kwargs", "plan", "outcome"),
    [
        # Draft -> In Review: an owner and a scheduled meeting.
        (
            pm(S.DRAFT, designations=OWNED, meeting=LATER),
            S.IN_REVIEW,
            {},
            SEV2_PLAN,
            (True, "moved to In Review"),
        ),
        (
            pm(S.DRAFT, meeting=LATER),
            S.IN_REVIEW,
            {},
            SEV2_PLAN,
            (True, "moved to In Review"),
        ),  # chain owner
        (
            pm(S.DRAFT, meeting=LATER),
            S.IN_REVIEW,
            {},
            None,
            (False, "nobody owns the post-mortem yet"),
        ),
        (
            pm(S.DRAFT, designations=OWNED),
            S.IN_REVIEW,
            {},
            SEV2_PLAN,
            (False, "the meeting is not scheduled"),
        ),
        # An override does not replace a meeting on the calendar.
        (
            pm(S.DRAFT, designations=OWNED),
            S.IN_REVIEW,
            {"override": True, "reason": "async"},
            SEV2_PLAN,
            (False, "the meeting is not scheduled"),
        ),
        # In Review -> Reviewed: the meeting has started, or an override with a reason.
        (pm(S.IN_REVIEW, meeting=MEETING), S.REVIEWED, {}, SEV2_PLAN, (True, "moved to Reviewed")),
        (
            pm(S.IN_REVIEW, meeting=LATER),
            S.REVIEWED,
            {},
            SEV2_PLAN,
            (False, "the meeting has not started yet"),
        ),
        (
            pm(S.IN_REVIEW, meeting=LATER),
            S.REVIEWED,
            {"override": True, "reason": "reviewed asynchronously"},
            SEV2_PLAN,
            (True, "reviewed asynchronously"),
        ),
        (
            pm(S.IN_REVIEW, meeting=LATER),
            S.REVIEWED,
            {"override": True},
            SEV2_PLAN,
            (False, "an override needs a reason"),
        ),
        # Reviewed -> Closed: follow-ups filed (or none), message published.
        (
            pm(S.REVIEWED, meeting=MEETING, follow_ups=FILED),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (True, "moved to Closed"),
        ),
        (
            pm(S.REVIEWED, meeting=MEETING, no_follow_ups=True),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (True, "moved to Closed"),
        ),
        (
            pm(S.REVIEWED, meeting=MEETING),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (False, "no follow-ups recorded: add them, or state that there are none"),
        ),
        (
            pm(S.REVIEWED, follow_ups=FILED + OPEN),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (False, "follow-ups not filed yet: 2"),
        ),
        (
            pm(
                S.REVIEWED,
                follow_ups=(OPEN[0].model_copy(update={"state": FollowUpState.DROPPED}),),
            ),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (True, "moved to Closed"),
        ),
        (
            pm(S.REVIEWED, no_follow_ups=True),
            S.CLOSED,
            {},
            SEV1_PLAN,
            (False, "the policy requires an external message and none was written"),
        ),
        (
            pm(S.REVIEWED, no_follow_ups=True, external_message=UNPUBLISHED),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (False, "the external message is not published yet"),
        ),
        (
            pm(S.REVIEWED, no_follow_ups=True, external_message=UNPUBLISHED),
            S.CLOSED,
            {"override": True, "reason": "support is on it"},
            SEV2_PLAN,
            (True, "support is on it"),
        ),
        (
            pm(S.REVIEWED, no_follow_ups=True, external_message=PUBLISHED),
            S.CLOSED,
            {},
            SEV1_PLAN,
            (True, "moved to Closed"),
        ),
        # In Review -> Closed skips Reviewed only without an external message, after the meeting.
        (
            pm(S.IN_REVIEW, meeting=MEETING, no_follow_ups=True),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (True, "moved to Closed"),
        ),
        (
            pm(S.IN_REVIEW, meeting=LATER, no_follow_ups=True),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (False, "the meeting has not started yet"),
        ),
        (
            pm(S.IN_REVIEW, meeting=MEETING, no_follow_ups=True, external_message=PUBLISHED),
            S.CLOSED,
            {},
            SEV2_PLAN,
            (False, "with an external message the post-mortem must be Reviewed first"),
        ),
        # Skipping ahead or standing still is refused; going back needs a reason.
        (pm(S.DRAFT), S.REVIEWED, {}, SEV2_PLAN, (False, "cannot move from Draft to Reviewed")),
        (pm(S.DRAFT), S.CLOSED, {}, SEV2_PLAN, (False, "cannot move from Draft to Closed")),
        (pm(S.DRAFT), S.DRAFT, {}, SEV2_PLAN, (False, "cannot move from Draft to Draft")),
        (pm(S.IN_REVIEW), S.DRAFT, {}, SEV2_PLAN, (False, "moving back needs a reason")),
        (
            pm(S.IN_REVIEW),
            S.DRAFT,
            {"reason": "timeline incomplete"},
            SEV2_PLAN,
            (True, "timeline incomplete"),
        ),
        (pm(S.CLOSED), S.DRAFT, {"reason": "recurred"}, SEV2_PLAN, (True, "recurred")),
    ],
)
def test_transitions(
    start: PostMortem,
    to: PostMortemStatus,
    kwargs: dict[str, Any],
    plan: Plan | None,
    outcome: tuple[bool, str],
) -> None:
    allowed, reason = outcome
    result = transition(start, to, ALICE, NOW, plan=plan, **kwargs)
    assert (result.allowed, result.reason) == (allowed, reason)
    assert result.postmortem.status is (to if allowed else start.status)
    audit = result.audit
    assert audit.action == ("transition" if allowed else "transition_refused")
    assert (audit.actor, audit.at, audit.from_status, audit.to_status) == (
        ALICE,
        NOW,
        start.status,
        to,
    )
    assert audit.reason == reason
    assert audit.rule == (plan.rule if plan else None)


def test_allowed_transition_records_the_time_and_waived_guards() -> None:
    result = transition(
        pm(S.IN_REVIEW, meeting=LATER),
        S.REVIEWED,
        ALICE,
        NOW,
        reason="reviewed in Slack",
        override=True,
        plan=SEV2_PLAN,
    )
    assert result.postmortem.status_changed_at == NOW
    assert result.audit.override
    assert result.audit.guards == ("meeting_held",)


def test_sev1_cannot_close_without_a_public_message_unless_overridden() -> None:
    """Seed 004: the external message is part of the review; the meeting may decide that
    customers need none. An override with a reason waives it, and the audit says so."""
    reviewed = pm(S.REVIEWED, meeting=MEETING, no_follow_ups=True)
    refused = transition(reviewed, S.CLOSED, ALICE, NOW, plan=SEV1_PLAN)
    assert not refused.allowed
    assert refused.audit.guards == ("external_message_written",)

    reason = "internal-only impact: no customer saw it"
    closed = transition(
        reviewed, S.CLOSED, ALICE, NOW, plan=SEV1_PLAN, override=True, reason=reason
    )
    assert closed.allowed
    assert closed.postmortem.status is S.CLOSED
    assert (closed.audit.override, closed.audit.reason) == (True, reason)
    assert closed.audit.guards == ("external_message_written",)

    # From In Review, skipping Reviewed with a required message is waived the same way.
    in_review = pm(S.IN_REVIEW, meeting=MEETING, no_follow_ups=True)
    skipped = transition(
        in_review, S.CLOSED, ALICE, NOW, plan=SEV1_PLAN, override=True, reason=reason
    )
    assert skipped.allowed
    assert skipped.audit.guards == ("reviewed_first", "external_message_written")


def test_external_message_is_required_only_where_the_policy_requires_it() -> None:
    """A SEV-2 without a message closes from In Review once the meeting is over."""
    in_review = pm(S.IN_REVIEW, meeting=MEETING, no_follow_ups=True)
    assert not SEV2_PLAN.external_message_required
    assert transition(in_review, S.CLOSED, ALICE, NOW, plan=SEV2_PLAN).allowed


def test_refused_transition_names_the_failed_guards() -> None:
    result = transition(pm(S.DRAFT), S.IN_REVIEW, ALICE, NOW)
    assert result.audit.guards == ("owner", "meeting_scheduled")
    assert result.postmortem == pm(S.DRAFT)


def test_rule_without_meeting_does_not_require_one() -> None:
    optional_plan = plan_for(incident(severity=Severity.SEV3, false_positive=True), postmortem())
    assert optional_plan.meeting is None
    result = transition(
        pm(S.IN_REVIEW, no_follow_ups=True), S.REVIEWED, ALICE, NOW, plan=optional_plan
    )
    assert result.allowed


def test_optional_post_mortem_closes_as_not_needed() -> None:
    plan = plan_for(incident(severity=Severity.SEV3, false_positive=True))
    result = close_as_not_needed(
        pm(S.DRAFT), ALICE, NOW, "alert threshold fixed already", plan=plan
    )
    assert result.allowed
    assert result.postmortem.status is S.CLOSED
    assert result.postmortem.not_needed_reason == "alert threshold fixed already"
    assert result.audit.rule == "false-positive"
    assert not close_as_not_needed(pm(S.DRAFT), ALICE, NOW, "  ", plan=plan).allowed


def test_required_post_mortem_cannot_close_as_not_needed() -> None:
    result = close_as_not_needed(pm(S.DRAFT), ALICE, NOW, "busy", plan=SEV2_PLAN)
    assert not result.allowed
    assert result.audit.action == "transition_refused"
    assert "requires this post-mortem" in result.reason
