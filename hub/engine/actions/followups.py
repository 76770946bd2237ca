"""What trackers report about follow-ups, applied to the post-mortems pmhub keeps.

Called by the ingest job for each follow-up fact (`Wiring.on_follow_up`):

* **incident.io** follow-up created/updated → a `FollowUp` on the incident's
  post-mortem, keyed by incident.io's follow-up id (stable, so a redelivery updates
  rather than duplicates). Title, priority and owner follow incident.io; a
  follow-up incident.io already exported to this Jira site keeps that issue as its
  ticket, so pmhub never files a second one. When the post-mortem does not exist
  yet, it is created as the Draft the reconciler would create, but only when the
  policy requires a post-mortem for the incident as stored now (incident.io sends
  follow-ups during the incident, before resolution creates the post-mortem);
  otherwise the fact is kept in the audit log and nothing else happens.
* **Jira** `issue_updated` → the follow-up filed as that issue goes done (a done
  status category) or back to open (reopened); a dropped follow-up stays dropped.
  The issue's due date, when the delivery carries it, becomes the follow-up's (a
  person moved it in Jira: pmhub follows, and reminds by the new date). Tickets of
  closed post-mortems count too: follow-ups outlive them.
* A follow-up incident.io reports **completed** (or reopened) moves its Jira issue
  the same way. Only a change of state is carried over, so the echo (Jira's webhook
  for the transition pmhub made) changes nothing, and neither does a redelivery.
  The vendor call comes before the store write: if it fails the ingest job is
  retried and finds the same change still to make (transitions are idempotent).

Every change is audited and asks for a reconcile of the incident.

**Flags** (`FLAG_FOLLOWUP`, `flag_performer`): a follow-up the policy will not file
(a P3 where the rule files P0/P1) is told to the post-mortem's owner by the chat
performer (a DM; the incidents channel while nobody owns it yet, and the owner
again once one is named, since the recipient is part of the intent), and its
reason is kept on the follow-up (`flagged_reason`, shown by the admin API and
`/postmortem status`) in the transaction that records the effect. The reason is
kept even when no chat connector is configured: the ledger then says nobody was
told. Filing the follow-up later (an override, a new priority) clears it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.jobs.kinds import RECONCILE, reconcile_key
from hub.jobs.queue import JobQueue, enqueue_job
from hub.model.followup_event import FollowUpFact, FollowUpStatus
from hub.model.intent import FlagFollowUp, Intent
from hub.model.postmortem import FollowUp, FollowUpState, PostMortem
from hub.policy import PolicySet, evaluate
from hub.ports import Tracker
from hub.store.audit import AuditEntry, record
from hub.store.db import transaction
from hub.store.state import load_postmortem, lock_incident, save_postmortem
from hub.store.tickets import postmortem_with_ticket

log = structlog.get_logger("pmhub.followups")

UNSET_PRIORITY = "unset"  # what an item without a priority shows (and is flagged for)
_ISSUE_KEY = re.compile(r"/browse/([A-Z][A-Z0-9_]*-[0-9]+)\b")


@dataclass(frozen=True)
class _Change:
    follow_up_id: str
    before: FollowUpState | None  # None: the follow-up is new
    after: FollowUpState
    tracker_key: str | None
    due_moved: tuple[str | None, str | None] | None = None  # (from, to) when it moved


class FollowUpHandler:
    """`on_follow_up(fact, origin)` for the ingest job."""

    def __init__(
        self,
        engine: AsyncEngine,
        queue: JobQueue,
        policies: PolicySet,
        *,
        tracker: Tracker | None,
        tracker_url: str | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine, self.queue, self.policies = engine, queue, policies
        self._tracker, self._clock = tracker, clock
        self._browse_prefix = f"{tracker_url.rstrip('/')}/browse/" if tracker_url else None

    async def __call__(self, fact: FollowUpFact, origin: str) -> None:
        with structlog.contextvars.bound_contextvars(follow_up=fact.external_id, origin=origin):
            if fact.source == "jira":
                await self._from_tracker(fact, origin)
            else:
                await self._from_incident_tool(fact, origin)

    # -- incident.io --------------------------------------------------------------

    async def _from_incident_tool(self, fact: FollowUpFact, origin: str) -> None:
        incident_id = fact.incident_id
        if incident_id is None:
            await self._unattached(fact, origin, "the follow-up names no incident")
            return
        current = await load_postmortem(self.engine, incident_id)
        existing = _find(current, fact.external_id) if current else None
        wanted = _state_for(fact.status, existing)
        if existing is not None and existing.tracker_key and wanted is not existing.state:
            await self._move_ticket(existing.tracker_key, wanted)
        source, _, source_id = incident_id.partition(":")
        async with transaction(self.engine) as conn:
            now = self._clock()
            stored = await lock_incident(conn, source, source_id, now=now)
            pm = await load_postmortem(conn, incident_id)
            created = False
            if pm is None:
                if (
                    stored is None
                    or evaluate(stored.incident, None, self.policies, now).required is not True
                ):
                    reason = "no post-mortem is required for this incident (yet)"
                    await self._unattached(fact, origin, reason, conn=conn)
                    return
                pm, created = (
                    PostMortem(incident_id=incident_id, created_at=now, status_changed_at=now),
                    True,
                )
            updated, change = self._apply_incident_tool(pm, fact)
            if updated == pm and not created:
                return
            await save_postmortem(conn, updated, now=now)
            if created:
                await self._audit(
                    conn,
                    incident_id,
                    "postmortem_created",
                    fact=fact,
                    origin=origin,
                    reason="a follow-up was reported for an incident that requires a post-mortem",
                )
            await self._changed(conn, incident_id, fact, origin, change)

    def _apply_incident_tool(
        self, pm: PostMortem, fact: FollowUpFact
    ) -> tuple[PostMortem, _Change]:
        existing = _find(pm, fact.external_id)
        state = _state_for(fact.status, existing)
        key = (
            existing.tracker_key if existing and existing.tracker_key else self._issue_key(fact.url)
        )
        fields = {
            "summary": fact.title or (existing.summary if existing else "(untitled follow-up)"),
            "priority": fact.priority or (existing.priority if existing else UNSET_PRIORITY),
            "owner": fact.owner or (existing.owner if existing else None),
            "tracker_key": key,
            "state": state,
        }
        if existing is None:
            # Its due date counts from when it was reported (issue 15).
            item = FollowUp(id=fact.external_id, created_at=fact.at or self._clock(), **fields)
        else:
            item = existing.model_copy(update=fields)
        item = _settled(item, existing, fact, self._clock())
        if existing is None:
            follow_ups = (*pm.follow_ups, item)
        else:
            follow_ups = tuple(item if f.id == existing.id else f for f in pm.follow_ups)
        change = _Change(item.id, existing.state if existing else None, state, key)
        return pm.model_copy(update={"follow_ups": follow_ups}), change

    def _issue_key(self, url: str | None) -> str | None:
        """The Jira issue incident.io exported the follow-up to, when it is on our site."""
        if not url or self._browse_prefix is None or not url.startswith(self._browse_prefix):
            return None
        found = _ISSUE_KEY.search(url)
        return found.group(1) if found else None

    # -- Jira ---------------------------------------------------------------------

    async def _from_tracker(self, fact: FollowUpFact, origin: str) -> None:
        key = fact.external_id.upper()
        owner = await postmortem_with_ticket(self.engine, key)
        if owner is None:
            log.info("followup.unknown_ticket", tracker_key=key)
            return
        incident_id = owner.incident_id
        source, _, source_id = incident_id.partition(":")
        async with transaction(self.engine) as conn:
            now = self._clock()
            await lock_incident(conn, source, source_id, now=now)
            pm = await load_postmortem(conn, incident_id)
            item = _by_ticket(pm, key) if pm else None
            if pm is None or item is None:
                return
            state = _state_for(fact.status, item)
            updated = _settled(item.model_copy(update={"state": state}), item, fact, now)
            updated, moved = _due_from_tracker(updated, fact)
            if updated == item:
                return
            follow_ups = tuple(updated if f.id == item.id else f for f in pm.follow_ups)
            await save_postmortem(conn, pm.model_copy(update={"follow_ups": follow_ups}), now=now)
            change = _Change(item.id, item.state, state, key, due_moved=moved)
            await self._changed(conn, incident_id, fact, origin, change)

    async def _move_ticket(self, key: str, state: FollowUpState) -> None:
        if self._tracker is None:
            return
        if state is FollowUpState.DONE:
            await self._tracker.transition_to_done(key)
        elif state is FollowUpState.OPEN:
            await self._tracker.reopen(key)

    # -- bookkeeping ----------------------------------------------------------------

    async def _changed(
        self,
        conn: AsyncConnection,
        incident_id: str,
        fact: FollowUpFact,
        origin: str,
        change: _Change,
    ) -> None:
        before = change.before.value if change.before else "new"
        reason = f"{fact.source} reports follow-up {fact.external_id} {fact.status.value}"
        if change.due_moved is not None:
            reason += f", due {change.due_moved[1] or 'no longer'} (was {change.due_moved[0]})"
        await self._audit(
            conn,
            incident_id,
            "follow_up_updated",
            fact=fact,
            origin=origin,
            reason=reason,
            follow_up=change.follow_up_id,
            before=before,
            after=change.after.value,
            tracker_key=change.tracker_key,
            due_moved=list(change.due_moved) if change.due_moved else None,
        )
        await enqueue_job(
            conn,
            RECONCILE,
            {"incident_id": incident_id},
            dedupe_key=reconcile_key(incident_id),
            now=self._clock(),
        )
        self.queue.wake()
        log.info(
            "followup.updated", incident_id=incident_id, before=before, after=change.after.value
        )

    async def _unattached(
        self, fact: FollowUpFact, origin: str, reason: str, *, conn: AsyncConnection | None = None
    ) -> None:
        subject = fact.incident_id or f"{fact.source}:{fact.external_id}"
        await self._audit(
            conn or self.engine,
            subject,
            "follow_up_unattached",
            fact=fact,
            origin=origin,
            reason=reason,
        )

    async def _audit(
        self,
        bind: AsyncConnection | AsyncEngine,
        subject: str,
        action: str,
        *,
        fact: FollowUpFact,
        origin: str,
        reason: str,
        **detail: object,
    ) -> None:
        await record(
            bind,
            AuditEntry(
                subject=subject,
                action=action,
                actor=fact.source,
                reason=reason,
                detail={"origin": origin, "fact": fact.model_dump(mode="json"), **detail},
            ),
            now=self._clock(),
        )


def _find(pm: PostMortem | None, follow_up_id: str) -> FollowUp | None:
    return next((f for f in pm.follow_ups if f.id == follow_up_id), None) if pm else None


def _by_ticket(pm: PostMortem | None, key: str) -> FollowUp | None:
    if pm is None:
        return None
    return next((f for f in pm.follow_ups if (f.tracker_key or "").upper() == key), None)


def _settled(
    item: FollowUp, before: FollowUp | None, fact: FollowUpFact, now: datetime
) -> FollowUp:
    """When it was done: set as it goes done, cleared if it is reopened (the numbers'
    "done on time" reads it)."""
    if item.state is FollowUpState.DONE and (before is None or before.state is not item.state):
        return item.model_copy(update={"done_at": fact.at or now})
    if item.state is FollowUpState.OPEN and item.done_at is not None:
        return item.model_copy(update={"done_at": None})
    return item


def _due_from_tracker(
    item: FollowUp, fact: FollowUpFact
) -> tuple[FollowUp, tuple[str | None, str | None] | None]:
    """A due date a person moved on the ticket is the follow-up's from now on.

    Moved means: not the date pmhub last knew the ticket to have (the echo of pmhub's own
    write, or a ticket that never had one, changes nothing).
    """
    if not fact.due_reported or fact.due_on == item.tracker_due_on:
        return item, None
    update = {"due_on": fact.due_on, "due_set_by": "jira", "tracker_due_on": fact.due_on}
    moved = item.model_copy(update=update)
    return moved, (_iso(item.due_on), _iso(fact.due_on))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _state_for(status: FollowUpStatus, existing: FollowUp | None) -> FollowUpState:
    """The state a reported status gives; a follow-up people dropped stays dropped."""
    if existing is not None and existing.state is FollowUpState.DROPPED:
        return FollowUpState.DROPPED
    return FollowUpState.DONE if status is FollowUpStatus.DONE else FollowUpState.OPEN


# -- flags ----------------------------------------------------------------------------


def flag_performer(tell: Performer | None) -> Performer:
    """FLAG_FOLLOWUP: `tell` the owner (the chat performer, if any), then keep the reason."""

    async def perform(request: EffectRequest) -> EffectOutcome:
        follow_up_id = payload_of(request.intent, FlagFollowUp).id
        reason = flag_reason(request.intent)
        if tell is None:
            told = EffectOutcome(vendor_ref=None, detail={"told": "nobody: no chat connector"})
        else:
            told = await tell(request)
        keep = _record_flag(follow_up_id, reason)
        earlier = told.update

        def update(pm: PostMortem) -> PostMortem:
            return keep(earlier(pm) if earlier is not None else pm)

        return EffectOutcome(
            vendor_ref=told.vendor_ref,
            detail={**told.detail, "flagged_reason": reason},
            update=update,
        )

    return perform


def flag_reason(intent: Intent) -> str:
    """Why the policy will not file the follow-up, as the owner is told it."""
    # The policy states its reason as "do not file follow-up <id>: <why>".
    return intent.reason.partition(": ")[2] or intent.reason


def _record_flag(follow_up_id: str, reason: str) -> Callable[[PostMortem], PostMortem]:
    def keep(pm: PostMortem) -> PostMortem:
        item = _find(pm, follow_up_id)
        # Filed or settled since the flag was planned: the reason no longer applies.
        if item is None or item.filed or item.state is not FollowUpState.OPEN:
            return pm
        if item.flagged_reason == reason:
            return pm
        flagged = item.model_copy(update={"flagged_reason": reason})
        follow_ups = tuple(flagged if f.id == item.id else f for f in pm.follow_ups)
        return pm.model_copy(update={"follow_ups": follow_ups})

    return keep
