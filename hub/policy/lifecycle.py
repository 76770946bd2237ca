"""Post-mortem status changes with their guards: Draft -> In Review -> Reviewed -> Closed.

Every request, allowed or refused, yields a `LifecycleDecision` (who, what, why, under
which rule), so "why is this still in review?" always has an answer.

Guards (seed 004):
* In Review - someone owns it and the meeting is on the calendar; where pmhub wrote the
  document and the rule lists `review.requires`, the document (read back just before)
  has words in each of those sections, and the refusal names the empty ones.
* Reviewed - the meeting has started (it is where the review happens).
* Closed - follow-ups are filed, dropped, or declared none; an external message,
  where the rule requires one (by severity) or one was written, is published. From
  In Review a post-mortem may skip Reviewed only when there is no external message
  ("if no External Message, you can skip straight to this once the meeting is over").

An override (with a reason) waives the *soft* guards - the meeting having
started, follow-ups being filed, the document's sections, the external message being
written or published - because people sometimes review asynchronously, file tickets
elsewhere, or decide in the meeting that customers need no message after all (seed 004
makes the message part of the review, not a promise made before it). The override, its
reason and the guards it waived are in the audit record. It never waives an owner or the
meeting being scheduled: without them there was no review. Moving backwards (reopen,
pull back from review) needs a reason. Optional post-mortems, and post-mortems that
stopped being required, may close as "not needed" from any open status, with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.model.document import DocumentReview
from hub.model.incident import Frozen, Person
from hub.model.postmortem import FollowUpState, LifecycleDecision, PostMortem, PostMortemStatus
from hub.policy.calendar import instant
from hub.policy.plan import Plan

S = PostMortemStatus
# pmhub itself, as the actor of what the policy does on its own (a default applied).
PMHUB = Person(name="pmhub")
FORWARD = {S.DRAFT: {S.IN_REVIEW}, S.IN_REVIEW: {S.REVIEWED, S.CLOSED}, S.REVIEWED: {S.CLOSED}}
BACKWARD = {S.IN_REVIEW: {S.DRAFT}, S.REVIEWED: {S.IN_REVIEW}, S.CLOSED: {S.DRAFT}}


class TransitionResult(Frozen):
    allowed: bool
    reason: str
    audit: LifecycleDecision
    postmortem: PostMortem  # the new value when allowed, the unchanged one when refused


@dataclass(frozen=True, slots=True)
class _Guard:
    name: str
    message: str
    soft: bool


@dataclass(frozen=True, slots=True)
class _Request:
    pm: PostMortem
    to: PostMortemStatus
    actor: Person
    now: datetime
    plan: Plan | None
    override: bool

    def allow(self, reason: str, waived: tuple[str, ...] = ()) -> TransitionResult:
        moved = self.pm.model_copy(update={"status": self.to, "status_changed_at": self.now})
        audit = self.audit(reason, waived, allowed=True)
        return TransitionResult(allowed=True, reason=reason, audit=audit, postmortem=moved)

    def refuse(self, reason: str, failed: list[_Guard] | None = None) -> TransitionResult:
        audit = self.audit(reason, tuple(g.name for g in failed or []), allowed=False)
        return TransitionResult(allowed=False, reason=reason, audit=audit, postmortem=self.pm)

    def audit(self, reason: str, guards: tuple[str, ...], *, allowed: bool) -> LifecycleDecision:
        return LifecycleDecision(
            at=self.now,
            incident_id=self.pm.incident_id,
            actor=self.actor,
            action="transition" if allowed else "transition_refused",
            from_status=self.pm.status,
            to_status=self.to,
            reason=reason,
            rule=self.plan.rule if self.plan else None,
            override=self.override,
            guards=guards,
        )


def transition(
    postmortem: PostMortem,
    to: PostMortemStatus,
    actor: Person,
    now: datetime,
    *,
    reason: str | None = None,
    override: bool = False,
    plan: Plan | None = None,
    document: DocumentReview | None = None,
) -> TransitionResult:
    """Ask to move `postmortem` to `to`. `plan` (from `evaluate`) supplies the rule's view;
    `document` is pmhub's document as read back for the In Review guard."""
    request = _Request(postmortem, to, actor, now, plan, override)
    current, why = postmortem.status, (reason or "").strip()
    if override and not why:
        return request.refuse("an override needs a reason")
    if to in BACKWARD.get(current, set()):
        return request.allow(why) if why else request.refuse("moving back needs a reason")
    if to not in FORWARD.get(current, set()):
        return request.refuse(f"cannot move from {current.label} to {to.label}")
    failed = _guards(postmortem, to, now, plan)
    if to is S.IN_REVIEW:
        failed += _document_guards(postmortem, plan, document)
    blocking = [g for g in failed if not (override and g.soft)]
    if blocking:
        return request.refuse("; ".join(g.message for g in blocking), blocking)
    return request.allow(why or f"moved to {to.label}", tuple(g.name for g in failed))


RANK = {S.DRAFT: 0, S.IN_REVIEW: 1, S.REVIEWED: 2, S.CLOSED: 3}


class Walk(Frozen):
    """Moving forward step by step towards a status, each step under the guards."""

    postmortem: PostMortem  # where the walk got to
    steps: tuple[TransitionResult, ...]  # the moves made, in order
    refused: tuple[TransitionResult, ...]  # why it stopped short (empty: it arrived)

    @property
    def arrived(self) -> bool:
        return not self.refused

    @property
    def blocking(self) -> tuple[str, ...]:
        """The guards that stopped it (names, each once)."""
        return tuple(dict.fromkeys(g for r in self.refused for g in r.audit.guards))

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.reason for r in self.refused))


def walk(
    postmortem: PostMortem,
    goal: PostMortemStatus,
    actor: Person,
    now: datetime,
    *,
    reason: str,
    plan: Plan | None = None,
    document: DocumentReview | None = None,
) -> Walk:
    """Move forward to `goal` as far as the guards allow (an incident tool said it is there).

    From In Review to Closed the direct step is tried first (no external message: seed
    004's shortcut), then through Reviewed. Never moves back, never overrides.
    """
    current, steps = postmortem, list[TransitionResult]()
    while RANK[current.status] < RANK[goal]:
        candidates = [goal] if goal in FORWARD[current.status] else []
        candidates += [
            s for s in sorted(FORWARD[current.status], key=RANK.__getitem__) if s != goal
        ]
        refused: list[TransitionResult] = []
        moved = None
        for to in candidates:
            if RANK[to] > RANK[goal]:
                continue
            attempt = transition(
                current, to, actor, now, reason=reason, plan=plan, document=document
            )
            if attempt.allowed:
                moved = attempt
                break
            refused.append(attempt)
        if moved is None:
            return Walk(postmortem=current, steps=tuple(steps), refused=tuple(refused))
        steps.append(moved)
        current = moved.postmortem
    return Walk(postmortem=current, steps=tuple(steps), refused=())


def close_as_not_needed(
    postmortem: PostMortem, actor: Person, now: datetime, reason: str, *, plan: Plan
) -> TransitionResult:
    """Close an optional post-mortem without doing it (e.g. a false positive), with a reason."""
    request = _Request(postmortem, S.CLOSED, actor, now, plan, override=False)
    why = reason.strip()
    if plan.required is True:
        return request.refuse(
            f"rule {plan.rule!r} requires this post-mortem; it cannot be closed as not needed"
        )
    if postmortem.status is S.CLOSED:
        return request.refuse("it is already closed")
    if not why:
        return request.refuse("closing as not needed needs a reason")
    update: dict[str, object] = {"not_needed_reason": why}
    drop = postmortem.requirement_dropped
    if drop is not None and drop.answer is None:
        # The question "keep it or close it?" is answered by this close (pmhub's own
        # close is the rule's default: answered by nobody).
        by = None if actor.key == PMHUB.key else actor
        update["requirement_dropped"] = drop.model_copy(
            update={"answer": "close", "answered_by": by, "answered_at": now}
        )
    closed = postmortem.model_copy(update=update)
    return _Request(closed, S.CLOSED, actor, now, plan, override=False).allow(f"not needed: {why}")


def _guards(pm: PostMortem, to: PostMortemStatus, now: datetime, plan: Plan | None) -> list[_Guard]:
    failed: list[_Guard] = []
    meeting_expected = plan is None or plan.meeting is not None
    if to is S.IN_REVIEW:
        if pm.designation is None and (plan is None or plan.owner is None):
            failed.append(_Guard("owner", "nobody owns the post-mortem yet", soft=False))
        if meeting_expected and pm.meeting is None:
            failed.append(_Guard("meeting_scheduled", "the meeting is not scheduled", soft=False))
    held = pm.meeting is not None and instant(pm.meeting.start) <= instant(now)
    reviewing = to is S.REVIEWED or (to is S.CLOSED and pm.status is S.IN_REVIEW)
    if reviewing and meeting_expected and not held:
        failed.append(_Guard("meeting_held", "the meeting has not started yet", soft=True))
    if to is S.CLOSED:
        failed += _closing_guards(pm, plan)
    return failed


def _document_guards(
    pm: PostMortem, plan: Plan | None, document: DocumentReview | None
) -> list[_Guard]:
    """The sections the rule requires have words in them (issue 14)."""
    if plan is None or not plan.review_requires:
        return []
    if pm.document is None:
        # No document of pmhub's to read (its tool is not configured, or creating it
        # failed and the ledger says why): the guard cannot check what does not exist.
        return []
    if document is None or document.error is not None:
        why = document.error if document is not None else "it was not read"
        text = f"the post-mortem document could not be read ({why}); try again"
        return [_Guard("document_sections", text, soft=True)]
    empty = [document.heading(name) for name in plan.review_requires if not document.filled(name)]
    if not empty:
        return []
    text = f"these sections of the post-mortem document are empty: {', '.join(empty)}"
    return [_Guard("document_sections", text, soft=True)]


def _closing_guards(pm: PostMortem, plan: Plan | None) -> list[_Guard]:
    failed: list[_Guard] = []
    pending = [f.id for f in pm.follow_ups if f.state is FollowUpState.OPEN and not f.filed]
    if pending:
        message = f"follow-ups not filed yet: {', '.join(pending)}"
        failed.append(_Guard("follow_ups_filed", message, soft=True))
    elif not pm.follow_ups and not pm.no_follow_ups:
        message = "no follow-ups recorded: add them, or state that there are none"
        failed.append(_Guard("follow_ups_filed", message, soft=True))
    required = plan is not None and plan.external_message_required
    external = pm.external_message
    if required or external is not None:
        if pm.status is S.IN_REVIEW:
            text = "with an external message the post-mortem must be Reviewed first"
            failed.append(_Guard("reviewed_first", text, soft=True))
        if external is None:
            text = "the policy requires an external message and none was written"
            failed.append(_Guard("external_message_written", text, soft=True))
        elif not external.published:
            text = "the external message is not published yet"
            failed.append(_Guard("external_message_published", text, soft=True))
    return failed
