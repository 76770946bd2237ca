"""What people do to a post-mortem: designate, add follow-ups, write the message, move it on.

Shared by the Slack commands and (later) the admin API. Each action runs in one
transaction: load the incident (row-locked on PostgreSQL) and the post-mortem,
evaluate the plan, apply the pure policy function, save, audit, and enqueue a
reconcile, so the plan reacts (a new owner is told, a P2 follow-up is flagged).

Idempotent by `origin`, the stable key of the request (a Slack delivery): the
audit entry of every action carries it, and an action whose origin is already in
the trail is not done again but answered as it was the first time. A retried
delivery therefore neither designates twice nor adds the same follow-up twice.
Refusals are audited too, with the rule and the reason, so "why was my `reviewed`
refused?" has an answer in the trail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.engine.actions.changes import (
    REFUSED_SUFFIX,
    ActionChange,
    ActionResult,
    ActionState,
    decided_change,
    decision_entry,
    earlier_entry,
    follow_up_id,
    refuse,
)
from hub.engine.documents import DocumentLibrary
from hub.jobs.kinds import RECONCILE, reconcile_key
from hub.jobs.queue import JobQueue, enqueue_job
from hub.model.document import DocumentReview
from hub.model.incident import Person
from hub.model.postmortem import (
    ExternalMessage,
    FollowUp,
    FollowUpState,
    Meeting,
    OwnerAcceptance,
    OwnerDesignation,
    PostMortem,
    PostMortemStatus,
)
from hub.policy import PolicySet, close_as_not_needed, evaluate, lint_external_message
from hub.policy import transition as policy_transition
from hub.ports import EventRef
from hub.store.audit import AuditEntry, record
from hub.store.db import transaction
from hub.store.state import load_incident, load_postmortem, lock_incident, save_postmortem


class PostMortemActions:
    def __init__(
        self,
        engine: AsyncEngine,
        queue: JobQueue,
        policies: PolicySet,
        *,
        clock: Callable[[], datetime],
        documents: DocumentLibrary | None = None,
    ) -> None:
        self.engine, self.queue, self.policies, self._clock = engine, queue, policies, clock
        # Where pmhub's post-mortem documents are read back (the In Review guard).
        self.documents = documents

    async def designate_owner(
        self, incident_id: str, person: Person, by: Person, *, origin: str, reason: str = ""
    ) -> ActionResult:
        """Name the owner (or hand it off). Creates the post-mortem of an optional rule."""

        def change(state: ActionState) -> ActionChange:
            pm, plan = state.postmortem, state.plan
            if plan.required is False:
                return refuse("owner_designated", "this incident needs no post-mortem", plan)
            if pm is not None and pm.status is PostMortemStatus.CLOSED:
                return refuse("owner_designated", "the post-mortem is closed", plan)
            current = plan.owner.person if plan.owner else None
            if pm is not None and pm.designation and current and current.key == person.key:
                return refuse("owner_designated", f"{person.display} already owns it", plan)
            base = pm or PostMortem(
                incident_id=state.incident.id, created_at=state.now, status_changed_at=state.now
            )
            designation = OwnerDesignation(person=person, by=by, reason=reason, at=state.now)
            updated = base.model_copy(update={"designations": (*base.designations, designation)})
            previous = current.display if current else "nobody"
            return ActionChange(
                "owner_designated",
                f"{person.display} now owns the post-mortem (was: {previous})",
                updated,
                plan.rule,
                {"owner": person.key, "previous": current.key if current else None},
            )

        return await self.run_change(incident_id, by, origin, change)

    async def accept_ownership(
        self, incident_id: str, owner: Person, *, origin: str
    ) -> ActionResult:
        """The owner pressed Accept: recorded (once), so their DM can show it.

        Only the owner in force can accept; the first Accept stands (a second press
        changes nothing). A later hand-off makes it moot: it counts for this owner only.
        """

        def change(state: ActionState) -> ActionChange:
            pm, plan = state.postmortem, state.plan
            current = plan.owner.person if plan.owner else None
            if pm is None or current is None or current.key != owner.key:
                return refuse("owner_accepted", f"{owner.display} does not own it", plan)
            accepted = pm.acceptance
            if accepted is None or accepted.person.key != owner.key:
                pm = pm.model_copy(
                    update={"acceptance": OwnerAcceptance(person=current, at=state.now)}
                )
            return ActionChange(
                "owner_accepted",
                f"{owner.display} accepted the post-mortem",
                pm,
                plan.rule,
                {"owner": owner.key},
            )

        return await self.run_change(incident_id, owner, origin, change)

    async def add_follow_up(
        self,
        incident_id: str,
        summary: str,
        priority: str,
        by: Person,
        *,
        origin: str,
        owner: Person | None = None,
        candidate_id: str | None = None,
    ) -> ActionResult:
        """Add a follow-up; with `candidate_id`, it is that TODO found in the history,
        which then shows as added (once: a TODO already added is refused)."""

        def change(state: ActionState) -> ActionChange:
            pm = state.postmortem
            if pm is None or pm.status is PostMortemStatus.CLOSED:
                why = "the post-mortem is closed" if pm else "there is no post-mortem yet"
                return refuse("follow_up_added", why, state.plan)
            item = FollowUp(
                id=follow_up_id(origin),
                summary=summary.strip(),
                priority=priority,
                owner=owner,
                created_at=state.now,  # its due date counts from here (issue 15)
            )
            # A follow-up after "there are none" takes that statement back.
            updated = pm.model_copy(
                update={
                    "follow_ups": (*pm.follow_ups, item),
                    "no_follow_ups": False,
                    "no_follow_ups_reason": None,
                }
            )
            detail: dict[str, object] = {"follow_up": item.id, "priority": item.priority}
            if candidate_id is not None:
                candidate = pm.candidate(candidate_id)
                if candidate is None:
                    return refuse("follow_up_added", "that TODO is not known", state.plan)
                if candidate.follow_up_id is not None:
                    why = f"that TODO was added already, as {candidate.follow_up_id}"
                    return refuse("follow_up_added", why, state.plan)
                taken = candidate.model_copy(update={"follow_up_id": item.id})
                candidates = tuple(taken if c.id == candidate_id else c for c in pm.candidates)
                updated = updated.model_copy(update={"candidates": candidates})
                detail["candidate"] = candidate_id
            return ActionChange(
                "follow_up_added",
                f"follow-up {item.id} ({item.priority}) added: {item.summary}",
                updated,
                state.plan.rule,
                detail,
            )

        return await self.run_change(incident_id, by, origin, change)

    async def declare_no_follow_ups(
        self, incident_id: str, by: Person, reason: str, *, origin: str
    ) -> ActionResult:
        """State that the post-mortem has no follow-ups to file, and why (seed 001: action
        items are up to the individuals), so it can close without an override."""

        def change(state: ActionState) -> ActionChange:
            pm, plan, why = state.postmortem, state.plan, reason.strip()
            action = "no_follow_ups_declared"
            if pm is None or pm.status is PostMortemStatus.CLOSED:
                closed = "the post-mortem is closed" if pm else "there is no post-mortem yet"
                return refuse(action, closed, plan)
            if not why:
                return refuse(action, "say why there are no follow-ups", plan)
            recorded = [f.id for f in pm.follow_ups if f.state is not FollowUpState.DROPPED]
            if recorded:
                why_not = (
                    f"follow-ups are recorded ({', '.join(recorded)}): "
                    "drop them first, or close once they are filed"
                )
                return refuse(action, why_not, plan)
            updated = pm.model_copy(update={"no_follow_ups": True, "no_follow_ups_reason": why})
            return ActionChange(
                action, f"no follow-ups to file: {why}", updated, plan.rule, {"reason": why}
            )

        return await self.run_change(incident_id, by, origin, change)

    async def set_external_message(
        self, incident_id: str, body: str, by: Person, *, origin: str, full_outage: bool = False
    ) -> ActionResult:
        """Write the customer-facing message; refused, with every reason, if it fails the lint."""

        def change(state: ActionState) -> ActionChange:
            pm, plan = state.postmortem, state.plan
            if pm is None or pm.status is PostMortemStatus.CLOSED:
                why = "the post-mortem is closed" if pm else "there is no post-mortem yet"
                return refuse("external_message_set", why, plan)
            if pm.external_message is not None and pm.external_message.published:
                return refuse("external_message_set", "it is already published", plan)
            message = ExternalMessage(body=body.strip(), full_outage=full_outage)
            found = self.policies.match(state.incident)
            spec = found[1].external_message if found else None
            problems = lint_external_message(message, spec, state.incident)
            if problems:
                return refuse("external_message_set", "; ".join(problems), plan)
            updated = pm.model_copy(update={"external_message": message})
            return ActionChange(
                "external_message_set",
                "external message saved; it is reviewed in the meeting",
                updated,
                plan.rule,
                {"length": len(message.body)},
            )

        return await self.run_change(incident_id, by, origin, change)

    async def transition(
        self,
        incident_id: str,
        to: PostMortemStatus,
        by: Person,
        *,
        origin: str,
        reason: str | None = None,
        override: bool = False,
    ) -> ActionResult:
        """Move the post-mortem on (or back) under the lifecycle guards.

        Moving it forward reads pmhub's document back first (outside the transaction: a
        vendor call must not hold the incident's lock): In Review's guard checks the
        sections the rule requires, and the Summary read is kept for the outcome post.
        """
        review = await self._read_document(incident_id, to)

        def change(state: ActionState) -> ActionChange:
            pm = state.postmortem
            if pm is None:
                return refuse("transition", "there is no post-mortem yet", state.plan)
            result = policy_transition(
                pm,
                to,
                by,
                state.now,
                reason=reason,
                override=override,
                plan=state.plan,
                document=review,
            )
            moved = result.postmortem if result.allowed else None
            return decided_change(result.audit, _with_summary(moved, review, state.now))

        return await self.run_change(incident_id, by, origin, change)

    async def close_not_needed(
        self, incident_id: str, by: Person, reason: str, *, origin: str
    ) -> ActionResult:
        """Close an optional post-mortem without doing it (creating it, closed, if need be)."""

        def change(state: ActionState) -> ActionChange:
            pm = state.postmortem or PostMortem(
                incident_id=state.incident.id, created_at=state.now, status_changed_at=state.now
            )
            result = close_as_not_needed(pm, by, state.now, reason, plan=state.plan)
            decided = decided_change(result.audit, result.postmortem if result.allowed else None)
            return ActionChange(
                decided.action,
                decided.message,
                decided.postmortem,
                decided.rule,
                {**decided.detail, "not_needed": True},
            )

        return await self.run_change(incident_id, by, origin, change)

    async def link_meeting(
        self, incident_id: str, event: EventRef, by: Person, *, origin: str
    ) -> ActionResult:
        """A person booked the meeting themselves: it becomes the meeting pmhub keeps true
        (invites the policy's invitees, reads it back, reports a late one). Read from the
        calendar by the caller (`hub.engine.actions.meeting_link`)."""

        def change(state: ActionState) -> ActionChange:
            pm, plan = state.postmortem, state.plan
            if plan.required is False or plan.meeting is None:
                return refuse("meeting_linked", "this post-mortem has no meeting to link", plan)
            if pm is not None and pm.status is PostMortemStatus.CLOSED:
                return refuse("meeting_linked", "the post-mortem is closed", plan)
            if event.start is None or event.end is None or event.cancelled:
                return refuse("meeting_linked", "that event is no timed meeting", plan)
            meeting = Meeting(
                event_ref=event.id,
                start=event.start,
                end=event.end,
                calendar=plan.meeting.calendar,
                invitees=event.attendees,
                html_link=event.html_link,
            )
            base = pm or PostMortem(
                incident_id=state.incident.id, created_at=state.now, status_changed_at=state.now
            )
            updated = base.model_copy(update={"meeting": meeting, "no_meeting_slot": None})
            return ActionChange(
                "meeting_linked",
                f"the meeting on {event.start.isoformat()} is now the post-mortem meeting",
                updated,
                plan.rule,
                {"event": event.id, "start": event.start.isoformat()},
            )

        return await self.run_change(incident_id, by, origin, change)

    async def read_document(self, incident_id: str, to: PostMortemStatus) -> DocumentReview | None:
        """pmhub's document as read back for a move forward (None: none to read)."""
        return await self._read_document(incident_id, to)

    async def _read_document(self, incident_id: str, to: PostMortemStatus) -> DocumentReview | None:
        forward = (PostMortemStatus.IN_REVIEW, PostMortemStatus.REVIEWED, PostMortemStatus.CLOSED)
        if self.documents is None or to not in forward:
            return None
        pm = await load_postmortem(self.engine, incident_id)
        if pm is None or pm.document is None:
            return None
        return await self.documents.review(pm.document)

    # -- the one transaction every action shares -----------------------------------

    async def run_change(
        self,
        incident_id: str,
        actor: Person,
        origin: str,
        change: Callable[[ActionState], ActionChange],
    ) -> ActionResult:
        now = self._clock()
        saved = False
        async with transaction(self.engine) as conn:
            stored = await load_incident(conn, incident_id)
            if stored is None:
                return ActionResult(False, f"pmhub knows no incident {incident_id}")
            # Serialises actions on one incident across replicas (PostgreSQL row lock).
            await lock_incident(
                conn, stored.incident.source.value, stored.incident.source_id, now=now
            )
            incident = stored.incident
            postmortem = await load_postmortem(conn, incident_id)
            earlier = await earlier_entry(conn, incident_id, origin)
            if earlier is not None:
                allowed = not earlier.action.endswith(REFUSED_SUFFIX)
                message = str(earlier.detail.get("message") or earlier.reason)
                return ActionResult(allowed, message, incident, postmortem, replayed=True)
            plan = evaluate(incident, postmortem, self.policies, now)
            decided = change(ActionState(incident, postmortem, plan, now))
            if decided.postmortem is not None and decided.postmortem != postmortem:
                await save_postmortem(conn, decided.postmortem, now=now)
                await enqueue_job(
                    conn,
                    RECONCILE,
                    {"incident_id": incident_id},
                    dedupe_key=reconcile_key(incident_id),
                    now=now,
                )
                saved = True
            for step, move in enumerate(decided.earlier):
                step_origin = f"{origin}#{step}"
                await record(conn, decision_entry(move, step_origin), now=now)
            await record(
                conn,
                AuditEntry(
                    subject=incident_id,
                    action=decided.action,
                    actor=actor.key,
                    reason=decided.message,
                    rule=decided.rule,
                    detail={**decided.detail, "origin": origin, "message": decided.message},
                ),
                now=now,
            )
        if saved:
            self.queue.wake()
        allowed = decided.postmortem is not None
        return ActionResult(allowed, decided.message, incident, decided.postmortem or postmortem)


def _with_summary(
    pm: PostMortem | None, review: DocumentReview | None, now: datetime
) -> PostMortem | None:
    """The post-mortem with its document's Summary as just read (for the outcome post)."""
    if pm is None or pm.document is None or review is None or review.error is not None:
        return pm
    summary = review.text("summary")
    document = pm.document.model_copy(update={"summary": summary, "read_at": now})
    return pm.model_copy(update={"document": document})


__all__ = [
    "ActionChange",
    "ActionResult",
    "ActionState",
    "PostMortemActions",
    "decided_change",
    "follow_up_id",
    "refuse",
]
