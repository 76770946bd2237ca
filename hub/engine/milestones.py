"""When the process reached its steps, recorded as the reconciler sees them (issue 15).

The numbers (`pmhub report`, the process metrics) need times pmhub's record of a
post-mortem does not otherwise keep: the meeting's deadline as the plan says it, when
the meeting was booked, when the review request went out. The reconciler records them
here: the ledger's time for what pmhub did itself (the effect's completion), the
reconcile's own time for a meeting a person recorded by hand. Every replica then
computes the same numbers from the store.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.model.postmortem import Milestones, PostMortem
from hub.policy import Plan
from hub.store.effects import EffectState, get_effect
from hub.store.state import load_postmortem, lock_incident_id, save_postmortem

MEETING_KEY, REVIEW_KEY = "meeting", "review-request"


async def seen_milestones(
    conn: AsyncConnection, postmortem: PostMortem, plan: Plan, now: datetime
) -> Milestones:
    """The milestones as they stand now, from the plan, the record and the ledger."""
    known = postmortem.milestones
    deadline = plan.meeting.deadline if plan.meeting else None
    booked_at = known.meeting_booked_at
    if postmortem.meeting is not None and booked_at is None:
        booked_at = await _done_at(conn, plan.incident_id, MEETING_KEY) or now
    shared_at = await _done_at(conn, plan.incident_id, REVIEW_KEY) or known.review_shared_at
    return Milestones(
        meeting_deadline=deadline or known.meeting_deadline,
        meeting_booked_at=booked_at,
        review_shared_at=shared_at,
    )


async def record_milestones(
    conn: AsyncConnection, postmortem: PostMortem | None, plan: Plan, now: datetime
) -> None:
    """Write what changed, under the incident's lock, onto the post-mortem as stored now."""
    if postmortem is None:
        return
    seen = await seen_milestones(conn, postmortem, plan, now)
    if seen == postmortem.milestones:
        return
    await lock_incident_id(conn, plan.incident_id, now=now)
    current = await load_postmortem(conn, plan.incident_id)
    if current is not None and current.milestones != seen:
        await save_postmortem(conn, current.model_copy(update={"milestones": seen}), now=now)


async def _done_at(conn: AsyncConnection, incident_id: str, suffix: str) -> datetime | None:
    effect = await get_effect(conn, f"pm:{incident_id}:{suffix}")
    if effect is None or effect.state is not EffectState.DONE or "skipped" in effect.detail:
        return None  # not done, or nobody could do it (no connector)
    return effect.updated_at
