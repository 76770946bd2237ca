"""What people (and incident.io) decide when the process asks (issue 13).

Each is one action of `PostMortemActions` (one transaction, audited allowed or refused,
idempotent by origin), shared by the Slack buttons, `/postmortem` and the admin API:

* `take`: the Take it button under "nobody owns this post-mortem": whoever presses it
  owns it, unless someone took it first (then they are told who).
* `decide_requirement`: keep a post-mortem that stopped being required, or close it as
  not needed (the question's two buttons); the reason is in the audit log.
* `answer_second_review`: after a reopen that followed the meeting: a second review
  (the held meeting is kept in `past_meetings`, a new one is booked once the incident
  is resolved again, and the post-mortem goes back to Draft), or the review stands.
* `follow_vendor_status`: incident.io said the post-mortem is complete (or in review):
  walk pmhub's lifecycle there, each step under its guards and audited.
* `record_vendor_status`: keep what incident.io reported on the post-mortem.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from hub.engine.actions.transitions import (
    ActionChange,
    ActionResult,
    ActionState,
    PostMortemActions,
    decided_change,
    refuse,
)
from hub.model.incident import Person, Source
from hub.model.postmortem import OwnerDesignation, PostMortem, PostMortemStatus, ReopenAnswer
from hub.model.vendor_status import VendorStatus, VendorStatusFact
from hub.policy import close_as_not_needed
from hub.policy.lifecycle import PMHUB, walk
from hub.policy.vendor import vendor_name

S = PostMortemStatus
GOALS = {"in_review": S.IN_REVIEW, "completed": S.CLOSED}


async def take(
    actions: PostMortemActions, incident_id: str, person: Person, *, origin: str
) -> ActionResult:
    """The presser owns the post-mortem nobody owned (first press wins)."""

    def change(state: ActionState) -> ActionChange:
        pm, plan = state.postmortem, state.plan
        if plan.required is False:
            return refuse("owner_taken", "this incident needs no post-mortem", plan)
        if pm is not None and pm.status is S.CLOSED:
            return refuse("owner_taken", "the post-mortem is closed", plan)
        current = plan.owner.person if plan.owner else None
        if current is not None:
            if current.key == person.key or current.same_human(person):
                return refuse("owner_taken", "it is yours already", plan)
            return refuse("owner_taken", f"{current.display} took it already", plan)
        base = pm or PostMortem(
            incident_id=state.incident.id, created_at=state.now, status_changed_at=state.now
        )
        taken = OwnerDesignation(person=person, by=person, reason="took it", at=state.now)
        updated = base.model_copy(update={"designations": (*base.designations, taken)})
        message = f"{person.display} took the post-mortem: it is theirs now"
        return ActionChange("owner_taken", message, updated, plan.rule, {"owner": person.key})

    return await actions.run_change(incident_id, person, origin, change)


async def decide_requirement(
    actions: PostMortemActions,
    incident_id: str,
    answer: Literal["keep", "close"],
    by: Person,
    *,
    origin: str,
    reason: str = "",
) -> ActionResult:
    """Keep a post-mortem that stopped being required, or close it as not needed."""

    def change(state: ActionState) -> ActionChange:
        pm, plan = state.postmortem, state.plan
        action = "requirement_decided"
        drop = pm.requirement_dropped if pm else None
        if pm is None or drop is None or not (plan.dropped or plan.kept):
            return refuse(action, "it is required: there is nothing to decide", plan)
        if pm.status is S.CLOSED:
            return refuse(action, "the post-mortem is closed already", plan)
        if drop.answer is not None:
            who = drop.answered_by.display if drop.answered_by else "the policy's default"
            return refuse(action, f"decided already: {drop.answer} ({who})", plan)
        why = "; ".join(note for note in plan.notes if note.startswith("no longer required"))
        if answer == "keep":
            kept = drop.model_copy(
                update={"answer": "keep", "answered_by": by, "answered_at": state.now}
            )
            message = f"kept: the post-mortem goes on under rule {drop.required_by!r}"
            detail: dict[str, object] = {"answer": "keep", "reason": reason}
            updated = pm.model_copy(update={"requirement_dropped": kept})
            return ActionChange(action, message, updated, plan.rule, detail)
        because = f"{why}; closed by {by.display}" + (f": {reason}" if reason else "")
        result = close_as_not_needed(pm, by, state.now, because, plan=plan)
        decided = decided_change(result.audit, result.postmortem if result.allowed else None)
        return ActionChange(
            decided.action,
            decided.message,
            decided.postmortem,
            decided.rule,
            {**decided.detail, "not_needed": True, "answer": "close"},
        )

    return await actions.run_change(incident_id, by, origin, change)


async def answer_second_review(
    actions: PostMortemActions, incident_id: str, second: bool, by: Person, *, origin: str
) -> ActionResult:
    """After a reopen that followed the meeting: a second review, or the review stands."""

    def change(state: ActionState) -> ActionChange:
        pm, plan = state.postmortem, state.plan
        action = "second_review_answered"
        meeting = pm.meeting if pm else None
        if pm is None or meeting is None or pm.status is S.CLOSED:
            return refuse(action, "there is no held meeting to review again", plan)
        if meeting.start.timestamp() > state.now.timestamp():
            return refuse(action, "the meeting has not been held yet", plan)
        answer = ReopenAnswer(
            meeting_start=meeting.start, second_review=second, by=by, at=state.now
        )
        detail: dict[str, object] = {"second_review": second}
        if not second:
            updated = pm.model_copy(update={"reopen_answer": answer})
            message = "the review stands: the meeting held counts"
            return ActionChange(action, message, updated, plan.rule, detail)
        updated = pm.model_copy(
            update={
                "reopen_answer": answer,
                "past_meetings": (*pm.past_meetings, meeting),
                "meeting": None,
                "status": S.DRAFT,
                "status_changed_at": state.now
                if pm.status is not S.DRAFT
                else pm.status_changed_at,
            }
        )
        message = (
            "a second review: a new meeting is booked once the incident is resolved again, "
            "and the post-mortem is a draft until then"
        )
        detail["from"] = pm.status.value
        return ActionChange(action, message, updated, plan.rule, detail)

    return await actions.run_change(incident_id, by, origin, change)


async def follow_vendor_status(
    actions: PostMortemActions, incident_id: str, status: str, *, origin: str
) -> tuple[ActionResult, tuple[str, ...]]:
    """Walk the post-mortem to where incident.io says it is, under the guards; what
    happened, and what held it short of there (nothing: it arrived)."""
    goal = GOALS.get(status)
    # The document is read first, outside the transaction, as for any move forward.
    review = await actions.read_document(incident_id, goal) if goal else None
    held: list[str] = []

    def change(state: ActionState) -> ActionChange:
        pm, plan = state.postmortem, state.plan
        if pm is None or goal is None:
            return refuse("transition", f"nothing to follow ({status})", plan)
        source = pm.vendor_status.source if pm.vendor_status else Source.INCIDENTIO.value
        reason = f"{vendor_name(source)} marks the post-mortem {status}"
        route = walk(pm, goal, PMHUB, state.now, reason=reason, plan=plan, document=review)
        held.extend(route.reasons)
        if not route.steps:
            why = "; ".join(route.reasons) or f"it is {pm.status.label} already"
            return refuse("transition", why, plan)
        *earlier, last = route.steps
        decided = decided_change(last.audit, route.postmortem)
        return ActionChange(
            decided.action,
            decided.message,
            decided.postmortem,
            decided.rule,
            {**decided.detail, "vendor": source, "arrived": route.arrived},
            earlier=tuple(step.audit for step in earlier),
        )

    result = await actions.run_change(incident_id, PMHUB, origin, change)
    return result, tuple(dict.fromkeys(held))


def vendor_status_update(
    pm: PostMortem, fact: VendorStatusFact, now: datetime
) -> PostMortem | None:
    """The post-mortem with incident.io's newer report kept (None: nothing new)."""
    at = fact.at or now
    known = pm.vendor_status
    if known is not None and (known.status, known.document_id) == (fact.status, fact.document_id):
        return None
    if known is not None and fact.at is not None and known.at.timestamp() > at.timestamp():
        return None  # an older report arriving late
    reported = VendorStatus(
        source=fact.source, document_id=fact.document_id, status=fact.status, at=at
    )
    return pm.model_copy(update={"vendor_status": reported})


async def record_vendor_status(
    actions: PostMortemActions, fact: VendorStatusFact, origin: str
) -> ActionResult:
    """Keep incident.io's report; the plan then walks (or says what holds it)."""
    actor = Person(name=vendor_name(fact.source))

    def change(state: ActionState) -> ActionChange:
        pm, plan = state.postmortem, state.plan
        action = "vendor_status_reported"
        if pm is None:
            if plan.required is not True:
                return refuse(action, "no post-mortem is required for this incident", plan)
            pm = PostMortem(
                incident_id=state.incident.id, created_at=state.now, status_changed_at=state.now
            )
        updated = vendor_status_update(pm, fact, state.now)
        message = f"{vendor_name(fact.source)} reports the post-mortem {fact.status.value}"
        detail: dict[str, object] = {"status": fact.status.value, "document": fact.document_id}
        return ActionChange(action, message, updated or pm, plan.rule, detail)

    return await actions.run_change(fact.incident_id, actor, origin, change)
