"""An action's vocabulary: what it decided, what it answers, and its trail in the audit.

`PostMortemActions.run_change` (transitions) is the one transaction every action
shares; these are the values it passes around and the audit look-ups that make an
action idempotent by its origin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.model.incident import Incident
from hub.model.postmortem import LifecycleDecision, PostMortem
from hub.policy import Plan
from hub.store.audit import AuditEntry
from hub.store.tables import audit

REFUSED_SUFFIX = "_refused"
# The audit actions an action writes: only these are searched for an earlier origin.
ACTIONS = (
    "owner_designated",
    "owner_accepted",
    "follow_up_added",
    "no_follow_ups_declared",
    "external_message_set",
    "transition",
    # issue 13 (hub.engine.actions.decisions)
    "owner_taken",
    "requirement_decided",
    "second_review_answered",
    "vendor_status_reported",
    "meeting_linked",
)
SEARCHED = ACTIONS + tuple(a + REFUSED_SUFFIX for a in ACTIONS)


@dataclass(frozen=True)
class ActionResult:
    allowed: bool
    message: str  # what was done, or why not: said to the person who asked
    incident: Incident | None = None
    postmortem: PostMortem | None = None
    replayed: bool = False  # the same origin was already carried out: nothing was changed


@dataclass(frozen=True)
class ActionState:
    incident: Incident
    postmortem: PostMortem | None
    plan: Plan
    now: datetime


@dataclass(frozen=True)
class ActionChange:
    """What an action decided: the new post-mortem (None: refused) and its audit entry.

    `earlier` are lifecycle moves made on the way (a walk through several statuses),
    audited before this one, each as its own `transition` entry.
    """

    action: str
    message: str
    postmortem: PostMortem | None
    rule: str | None
    detail: dict[str, object]
    earlier: tuple[LifecycleDecision, ...] = ()


def follow_up_id(origin: str) -> str:
    """A follow-up's id from the request that added it: a repeat of the request finds it."""
    return "fu-" + hashlib.sha256(origin.encode()).hexdigest()[:8]


def refuse(action: str, reason: str, plan: Plan) -> ActionChange:
    return ActionChange(action + REFUSED_SUFFIX, reason, None, plan.rule, {})


def decided_change(entry: LifecycleDecision, postmortem: PostMortem | None) -> ActionChange:
    """A lifecycle decision (allowed or refused) as an audited change."""
    return ActionChange(
        entry.action,
        entry.reason,
        postmortem,
        entry.rule,
        {
            "from": entry.from_status.value,
            "to": entry.to_status.value,
            "override": entry.override,
            "guards": list(entry.guards),
        },
    )


def decision_entry(move: LifecycleDecision, origin: str) -> AuditEntry:
    change = decided_change(move, None)
    return AuditEntry(
        subject=move.incident_id,
        action=move.action,
        actor=move.actor.key,
        reason=move.reason,
        rule=move.rule,
        detail={**change.detail, "origin": origin, "message": move.reason},
    )


async def earlier_entry(conn: AsyncConnection, subject: str, origin: str) -> AuditEntry | None:
    """The audit entry an earlier run of the same request wrote, if any."""
    query = (
        select(audit)
        .where(audit.c.subject == subject, audit.c.action.in_(SEARCHED))
        .order_by(audit.c.id.desc())
    )
    for row in await conn.execute(query):
        if row.detail.get("origin") == origin:
            return AuditEntry.from_row(row)
    return None
