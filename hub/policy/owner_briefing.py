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

An install upgraded mid-process neither re-sends, edits nor loses a message: keys are
unchanged, and a post-mortem stored before this (`owner_briefings` None, see
`PostMortem.from_stored`) plans exactly what it did, its owner's DM naming no role and
each role's own message kept (done or pending); only a later hand-off's new owner is
told the new way. A DM naming no role keeps its fingerprint (the field is left out).

The external message for customers is asked for the same way: where the rule requires
one and nobody has written it, the owner's first DM asks for it (and says how to reply),
recorded as `OwnerBriefing.external_message`; the request of its own
(`RequestExternalMessage`) is planned only when the need comes later (the severity
raised after the owner was told) or for a post-mortem stored before this. Such a later
request is due a moment after the post-mortem started (`after_owner_dm`), for the same
reason: the first message is the DM. In a storm with one owner this halves what their DM
channel must carry (the DM and the request were two of its posts per incident).

That due time is only a head start. The order itself is kept when the effects run
(`hub.engine.owner_first`): any message to a person about the incident waits while their
owner DM's job is still to run; the due time stays as it was for the intents'
fingerprints.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from hub.model.incident import Person
from hub.model.intent import NotifyOwner
from hub.model.postmortem import OwnerBriefing, PostMortem
from hub.policy.context import Context
from hub.policy.plan import Plan

# The owner role is the owner themself: nobody is told they are missing.
_NOT_REPORTED = frozenset({"owner"})
# Slack's pacing of one DM channel (one post a second): what the owner's DM goes first by.
OWNER_DM_FIRST = timedelta(seconds=1)


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


def asks_for_external_message(pm: PostMortem | None, owner: Person, *, wanted: bool) -> bool:
    """Whether the owner's DM asks for the external message: when one is `wanted`
    (required and not written yet), the first time the owner is told; afterwards if
    that first DM asked for it."""
    if not wanted:
        return False
    briefing = briefing_of(pm, owner)
    return briefing is None or briefing.external_message


def after_owner_dm(ctx: Context) -> datetime | None:
    """When another message to the owner, planned with their DM, is due: a DM channel's
    pacing interval after the post-mortem started, so the owner's DM takes the channel's
    first slot rather than racing it. None (at once) for a post-mortem from before this
    (its intents keep their fingerprints) and before the post-mortem exists."""
    pm = ctx.postmortem
    if pm is None or pm.created_at is None or pm.owner_briefings is None:
        return None
    if any(briefing.upgraded for briefing in pm.owner_briefings):
        return None
    return pm.created_at + OWNER_DM_FIRST


def told_in_owner_dm(ctx: Context, role: str) -> bool:
    """Whether this evaluation's DM to the owner names `role` (so no second message)."""
    dm = _owner_dm(ctx)
    return dm is not None and role in (dm.unresolved_roles or ())


def external_message_asked_in_owner_dm(ctx: Context) -> bool:
    """Whether this evaluation's DM to the owner asks for the external message."""
    dm = _owner_dm(ctx)
    return dm is not None and bool(dm.asks_external_message)


def _owner_dm(ctx: Context) -> NotifyOwner | None:
    """The payload of this evaluation's DM to the current owner (planned before)."""
    if ctx.owner is None:
        return None
    key = f"pm:{ctx.incident.id}:owner:notify:{ctx.owner.person.key}"
    return next(
        (
            intent.payload
            for intent in ctx.intents
            if intent.key == key and isinstance(intent.payload, NotifyOwner)
        ),
        None,
    )


def note_owner_briefings(pm: PostMortem, plan: Plan) -> PostMortem:
    """The reconciler's bookkeeping (pure): an owner told for the first time in `plan`
    is recorded with the roles their DM names and whether it asked for the external
    message, so later plans keep to that. A post-mortem
    stored before issue 16 gets its current owner recorded as told no role in their DM
    (as they were); an owner after a hand-off is then told the new way."""
    legacy = pm.owner_briefings is None
    new = [
        OwnerBriefing(
            person_key=intent.payload.owner.key,
            unresolved_roles=intent.payload.unresolved_roles or (),
            external_message=bool(intent.payload.asks_external_message),
            upgraded=legacy,
        )
        for intent in plan.intents
        if isinstance(intent.payload, NotifyOwner)
        and (legacy or briefing_of(pm, intent.payload.owner) is None)
    ]
    if not new:
        return pm
    return pm.model_copy(update={"owner_briefings": (*(pm.owner_briefings or ()), *new)})
