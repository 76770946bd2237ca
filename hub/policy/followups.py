"""Follow-ups: which action items become tickets, and which are flagged to the owner.

Seed 004: "generally we only want to create things that are P0/P1's". An item whose
priority is outside the rule's list is not filed; it is flagged to the owner with the
reason, until someone overrides its priority (recorded with who and why) or drops it.
Labels are the rule's templates, rendered per item; Jira labels cannot hold spaces, so
whitespace becomes '-'.
"""

from __future__ import annotations

import re

from hub.model.intent import FileFollowUp, FlagFollowUp, ReportUnassignedFollowUp
from hub.model.postmortem import FollowUp, FollowUpState
from hub.policy.context import Context
from hub.policy.followup_dues import due_date
from hub.policy.templates import (
    TemplateProblem,
    incident_value,
    postmortem_value,
    render,
)


def plan_follow_ups(ctx: Context) -> None:
    pm = ctx.postmortem
    if pm is None:
        return
    spec = ctx.rule.follow_ups
    allowed = [p.casefold() for p in spec.priorities] if spec and spec.priorities else None
    for item in pm.follow_ups:
        if item.filed and item.unassigned_reason:
            _unassigned(ctx, item)
        if item.state is not FollowUpState.OPEN or item.filed:
            continue
        if (
            allowed is not None
            and item.priority.casefold() not in allowed
            and not item.priority_override
        ):
            _flag(ctx, item, spec.priorities if spec and spec.priorities else [])
            continue
        labels = _labels(ctx, item)
        if labels is None:
            continue
        override = item.priority_override
        ctx.add(
            f"followup:{item.id}:ticket",
            "follow_ups",
            f"file follow-up {item.id} ({item.priority}) as a ticket",
            FileFollowUp(
                id=item.id,
                summary=item.summary,
                priority=item.priority,
                owner=item.owner,
                labels=tuple(labels),
                incident_ref=ctx.incident.reference or ctx.incident.id,
                postmortem_url=pm.document_url,
                priority_override_reason=override.reason if override else None,
                due_on=due_date(ctx, item),
            ),
        )


def _unassigned(ctx: Context, item: FollowUp) -> None:
    """Filed without its assignee (the tracker does not know them): the owner assigns it."""
    assert item.tracker_key is not None  # noqa: S101 - the caller checked `filed`
    ctx.add(
        f"followup:{item.id}:unassigned",
        "follow_ups",
        f"follow-up {item.id} was filed as {item.tracker_key} without an assignee "
        f"({item.unassigned_reason}): tell the owner, with the link",
        ReportUnassignedFollowUp(
            id=item.id,
            summary=item.summary,
            tracker_key=item.tracker_key,
            tracker_url=item.tracker_url,
            intended=item.owner,
            recipient=ctx.owner_person,
        ),
        message=item.unassigned_reason or "",
    )


def _flag(ctx: Context, item: FollowUp, allowed: list[str]) -> None:
    reason = (
        f"priority {item.priority} is not one the policy files ({', '.join(allowed)}); "
        "override it with a reason, or drop the follow-up"
    )
    ctx.problems.append(f"follow-up {item.id}: {reason}")
    ctx.add(
        f"followup:{item.id}:flag",
        "follow_ups.priorities",
        f"do not file follow-up {item.id}: {reason}",
        FlagFollowUp(
            id=item.id,
            summary=item.summary,
            priority=item.priority,
            allowed=tuple(allowed),
            recipient=ctx.owner_person,
        ),
        message=f"Follow-up {item.id} ({item.summary!r}) was not filed: {reason}.",
    )


def _labels(ctx: Context, item: FollowUp) -> list[str] | None:
    values = {
        "incident": incident_value(ctx.incident),
        "postmortem": postmortem_value(ctx.postmortem),
        "followup": item.model_dump(),
        "rule": ctx.rule.name,
    }
    labels: list[str] = []
    for template in ctx.policy.labels.get(ctx.rule.name, ()):
        try:
            text = render(template, values)
        except TemplateProblem as exc:
            ctx.problems.append(f"follow-up {item.id} not filed: a label {exc}")
            return None
        label = re.sub(r"\s+", "-", text.strip())
        if label and label not in labels:
            labels.append(label)
    return labels
