"""What a post-mortem produces: follow-up tickets and the external message.

Follow-ups (seed 004: "generally we only want to create things that are
P0/P1's"): an item whose priority is outside the rule's list is not filed; it
is flagged to the owner with the reason, until someone overrides its priority
(recorded with who and why) or drops it. Labels are the rule's templates,
rendered per item; Jira labels cannot hold spaces, so whitespace becomes '-'.

The external message is requested from the owner where the rule requires one,
linted, and published only once the post-mortem is Reviewed (seed 004: Support
posts it after the meeting agreed on it).
"""

from __future__ import annotations

import re

from hub.model.intent import (
    FileFollowUp,
    FlagFollowUp,
    PublishExternalMessage,
    RequestExternalMessage,
)
from hub.model.postmortem import FollowUp, FollowUpState, PostMortemStatus
from hub.policy.context import Context
from hub.policy.templates import (
    TemplateProblem,
    incident_value,
    postmortem_value,
    render,
)
from hub.policy.wording import lint_external_message


def plan_follow_ups(ctx: Context) -> None:
    pm = ctx.postmortem
    if pm is None:
        return
    spec = ctx.rule.follow_ups
    allowed = [p.casefold() for p in spec.priorities] if spec and spec.priorities else None
    for item in pm.follow_ups:
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
            ),
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


def external_message_required(ctx: Context) -> bool:
    spec = ctx.rule.external_message
    return spec is not None and ctx.incident.severity in spec.required_for


def plan_external_message(ctx: Context) -> None:
    pm = ctx.postmortem
    message = pm.external_message if pm else None
    if message is None:
        if external_message_required(ctx) and ctx.owner_person is not None:
            ctx.add(
                "external-message:request",
                "external_message",
                f"{ctx.incident.severity} needs an external message, reviewed in the meeting",
                RequestExternalMessage(recipient=ctx.owner_person),
            )
        return
    if message.published:
        return
    problems = lint_external_message(message, ctx.rule.external_message, ctx.incident)
    ctx.problems += [f"external message: {problem}" for problem in problems]
    if ctx.status is not PostMortemStatus.REVIEWED:
        ctx.notes.append("the external message is published once the post-mortem is Reviewed")
        return
    if problems:
        return
    ctx.add(
        "external-message:publish",
        "external_message",
        "the post-mortem is reviewed: publish the external message on the status page",
        PublishExternalMessage(
            body=message.body.strip(),
            incident_ref=ctx.incident.reference or ctx.incident.id,
            title=ctx.incident.title,
        ),
    )
