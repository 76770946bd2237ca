"""The external message: requested from the owner, linted, published once Reviewed.

It is requested from the owner where the rule requires one (by severity), linted for
the wording the rule forbids, and published on the status page only once the
post-mortem is Reviewed (seed 004: Support posts it after the meeting agreed on it).
"""

from __future__ import annotations

from hub.model.intent import PublishExternalMessage, RequestExternalMessage
from hub.model.postmortem import PostMortemStatus
from hub.policy.context import Context
from hub.policy.owner_briefing import after_owner_dm, external_message_asked_in_owner_dm
from hub.policy.wording import lint_external_message


def external_message_required(ctx: Context) -> bool:
    spec = ctx.rule.external_message
    return spec is not None and ctx.incident.severity in spec.required_for


def external_message_wanted(ctx: Context) -> bool:
    """Required, and nobody has written it yet: the owner is asked for it."""
    pm = ctx.postmortem
    return external_message_required(ctx) and (pm is None or pm.external_message is None)


def plan_external_message(ctx: Context) -> None:
    pm = ctx.postmortem
    message = pm.external_message if pm else None
    if message is None:
        if external_message_asked_in_owner_dm(ctx):
            return  # the owner's DM asks for it: no second message (issue 16)
        if external_message_required(ctx) and ctx.owner_person is not None:
            ctx.add(
                "external-message:request",
                "external_message",
                f"{ctx.incident.severity} needs an external message, reviewed in the meeting",
                RequestExternalMessage(recipient=ctx.owner_person),
                due_at=after_owner_dm(ctx),  # the owner's DM first (issue 16)
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
