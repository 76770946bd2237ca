"""The owner's first message is the one that matters, and it is one message (issue 16).

When an owner is told the post-mortem is theirs, the meeting roles nobody holds are
part of that DM, rather than a second message to the same person that races the DM
for the channel's pacing slot (Slack: one post per second per channel) and often wins.

Which roles that DM named is kept on the post-mortem (`PostMortem.owner_briefings`,
written by the reconciler's bookkeeping, `note_owner_briefings`), because the plan is
a pure function of stored state: on every later evaluation the DM keeps naming those
roles (while nobody holds them), and a role that becomes unresolved later gets its
own message (`ReportUnresolvedRole`, under its unchanged key) as before. A hand-off is
a new owner: their first DM names the roles unresolved at that time.

Keys are unchanged, so an install upgraded mid-process neither re-sends nor loses a
message: an owner DM done before the upgrade is edited in place to name the roles
(the chat side edits, it does not post again), and role messages already done stay
done; one still pending is no longer planned, so its role is in the DM instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.model.incident import Person
from hub.model.intent import NotifyOwner
from hub.model.postmortem import OwnerBriefing, PostMortem
from hub.policy.context import Context
from hub.policy.plan import Plan

# The owner role is the owner themself: nobody is told they are missing.
_NOT_REPORTED = frozenset({"owner"})


def briefing_of(pm: PostMortem | None, owner: Person) -> OwnerBriefing | None:
    if pm is None:
        return None
    if pm.owner_briefings is None:
        # Stored before issue 16: its owner was told the old way (roles apart), and its
        # plan stays what it was, so an upgrade neither edits nor re-sends anything.
        return OwnerBriefing(person_key=owner.key)
    return next((b for b in pm.owner_briefings if b.person_key == owner.key), None)


def roles_for_owner_dm(
    pm: PostMortem | None, owner: Person, unresolved: Sequence[str]
) -> tuple[str, ...]:
    """The unresolved roles the owner's DM names: all of them the first time the owner
    is told; afterwards those it named then, while still unresolved."""
    roles = [role for role in unresolved if role not in _NOT_REPORTED]
    briefing = briefing_of(pm, owner)
    if briefing is None:
        return tuple(roles)
    return tuple(role for role in roles if role in briefing.unresolved_roles)


def told_in_owner_dm(ctx: Context, role: str) -> bool:
    """Whether this evaluation's DM to the owner names `role` (so no second message)."""
    if ctx.owner is None:
        return False
    key = f"pm:{ctx.incident.id}:owner:notify:{ctx.owner.person.key}"
    return any(
        intent.key == key
        and isinstance(intent.payload, NotifyOwner)
        and role in (intent.payload.unresolved_roles or ())
        for intent in ctx.intents
    )


def note_owner_briefings(pm: PostMortem, plan: Plan) -> PostMortem:
    """The reconciler's bookkeeping (pure): an owner told for the first time in `plan`
    is recorded with the roles their DM names, so later plans keep to that. A post-mortem
    stored before issue 16 gets its current owner recorded as told no role in their DM
    (as they were); an owner after a hand-off is then told the new way."""
    legacy = pm.owner_briefings is None
    new = [
        OwnerBriefing(
            person_key=intent.payload.owner.key,
            unresolved_roles=intent.payload.unresolved_roles or (),
        )
        for intent in plan.intents
        if isinstance(intent.payload, NotifyOwner)
        and (legacy or briefing_of(pm, intent.payload.owner) is None)
    ]
    if not new:
        return pm
    return pm.model_copy(update={"owner_briefings": (*(pm.owner_briefings or ()), *new)})
