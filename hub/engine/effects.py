"""The `effect` job: carry out one intent of a plan, exactly once, and record it.

The ledger row (`pending`, under the intent's key) exists before the vendor call.
If a job finds its row already `pending`, an earlier attempt's outcome is unknown
(a timeout, a crash after the call): the performer is told so, and looks for its
own earlier effect (Slack metadata, a Jira marker, a derived Calendar id) before
acting again. At run time the plan is evaluated afresh: an intent that is no
longer wanted (a reminder whose condition stopped holding) is not carried out.

An intent that changed since its effect was done (its fingerprint differs: the
meeting got booked, the owner accepted) is carried out again, and the performer is
handed what the ledger recorded for the earlier version (`earlier_ref`), so it can
edit that (a Slack message, via `chat.update`) rather than make a second one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.engine.owner_first import OwnerFirst
from hub.errors import Permanent
from hub.jobs.kinds import EFFECT, effect_key, effect_payload
from hub.jobs.queue import Job, enqueue_job
from hub.model.incident import Incident
from hub.model.intent import Intent, IntentKind
from hub.model.postmortem import PostMortem
from hub.policy import Plan, PolicySet, evaluate
from hub.store.audit import AuditEntry, record
from hub.store.db import Bind, reading, transaction
from hub.store.effects import (
    EffectState,
    begin_effect,
    complete_effect,
    fail_effect,
    restart_effect,
)
from hub.store.state import load_incident, load_postmortem, lock_incident_id, save_postmortem

log = structlog.get_logger("pmhub.effects")


@dataclass(frozen=True)
class EffectRequest:
    """Everything a performer needs to carry out one intent."""

    intent: Intent
    incident: Incident
    postmortem: PostMortem | None
    plan: Plan
    unknown_outcome: bool  # an earlier attempt may have happened: look before acting
    # What the ledger held under this key before this run: the vendor's reference and
    # detail of the effect done for an earlier version of the intent (None: nothing
    # was done yet). A changed intent (its fingerprint differs) is re-run with these,
    # so a performer can edit what it made before (a Slack message) instead of
    # making another.
    earlier_ref: str | None = None
    earlier_detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EffectOutcome:
    """What the vendor call produced.

    `update` changes pmhub's own record of the post-mortem as a consequence (the
    booked meeting, a follow-up's tracker key, the published message's id). It is a
    pure function of the stored post-mortem, applied in the transaction that records
    the effect as done, so the ledger and the state never disagree.
    """

    vendor_ref: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    update: Callable[[PostMortem], PostMortem] | None = None


Performer = Callable[[EffectRequest], Awaitable[EffectOutcome]]


class RequestReconcile(Protocol):
    """Ask for a reconcile of an incident (`Reconciler.request`); with `conn`, inside the
    caller's transaction."""

    async def __call__(self, incident_id: str, conn: AsyncConnection | None = None) -> None: ...


class EffectRunner:
    """The `effect` job handler: re-check the intent, then perform it once."""

    def __init__(
        self,
        engine: AsyncEngine,
        policies: PolicySet,
        performers: Mapping[IntentKind, Performer],
        *,
        clock: Callable[[], datetime],
        reconcile: RequestReconcile,
        connector_of: Mapping[IntentKind, str] | None = None,
        owner_dm_first: bool = False,
    ) -> None:
        self.engine, self.policies = engine, policies
        self.performers, self._clock, self._reconcile = performers, clock, reconcile
        self._connector_of = dict(connector_of or {})  # as the reconciler's (issue 15)
        # Messages to a person wait for their owner DM (hub.engine.owner_first).
        self._owner_first = OwnerFirst(engine, self._connector_of) if owner_dm_first else None

    async def __call__(self, job: Job) -> None:
        incident_id, key = job.payload.get("incident_id"), job.payload.get("key")
        if not isinstance(incident_id, str) or not isinstance(key, str):
            raise Permanent(f"effect job without incident_id/key: {job.payload!r}")
        with structlog.contextvars.bound_contextvars(incident_id=incident_id, effect_key=key):
            # Both on one read connection: an effect job per intent made these two
            # checkouts (and two BEGINs) a visible share of a storm's cost (issue 16).
            async with reading(self.engine) as conn:
                stored = await load_incident(conn, incident_id)
                postmortem = await load_postmortem(conn, incident_id) if stored else None
            if stored is None:
                raise Permanent(f"incident {incident_id} is not stored")
            now = self._clock()
            plan = evaluate(stored.incident, postmortem, self.policies, now)
            intent = plan.intent(key)
            if intent is None:
                log.info("effect.no_longer_wanted")
                return
            if intent.due_at is not None and intent.due_at > now:
                # Not due yet (the plan moved it later): come back then.
                await self._requeue(intent, incident_id)
                return
            if self._owner_first is not None:
                await self._owner_first.check(intent, now, looks=job.attempts)
            request_for = _RequestFactory(stored.incident, postmortem, plan, intent)
            if await self._perform(request_for, now):
                return  # the reconcile was requested with the effect's outcome
        await self._reconcile(incident_id)

    async def _perform(self, factory: _RequestFactory, now: datetime) -> bool:
        """Carry the intent out unless the ledger shows it done; True when the reconcile
        that follows was requested in the transaction recording the outcome."""
        intent = factory.intent
        fingerprint = intent.fingerprint()
        started = await begin_effect(
            self.engine, intent.key, intent.kind.value, fingerprint, now=now
        )
        # Whichever version of the intent an unfinished earlier attempt was for: a DM
        # whose post was cut off and whose intent then changed may still have landed.
        unknown, row = started.earlier_attempt_unfinished, started.row
        if row.state is EffectState.DONE and row.intent_hash == fingerprint:
            return False
        if row.state is not EffectState.PENDING or row.intent_hash != fingerprint:
            row = await restart_effect(self.engine, intent.key, fingerprint, now=now)
        performer = self.performers.get(intent.kind)
        if performer is None:
            # No connector for this kind is configured: say so once, in the ledger and
            # the audit log, instead of retrying something nobody can do.
            reason = f"no connector is configured to {intent.kind.value.replace('_', ' ')}"
            await complete_effect(self.engine, intent.key, None, {"skipped": reason}, now=now)
            await self._audit(factory, "effect_skipped", reason)
            return False
        request = factory.request(
            unknown_outcome=unknown, earlier_ref=row.vendor_ref, earlier_detail=row.detail
        )
        try:
            outcome = await performer(request)
        except Permanent as refusal:
            await fail_effect(self.engine, intent.key, refusal.reason, now=self._clock())
            await self._audit(factory, "effect_failed", refusal.reason)
            raise
        async with transaction(self.engine) as conn:
            done_at = self._clock()
            if outcome.update is not None:
                # The post-mortem as stored now, read under the incident's lock: a person's
                # change committed while the vendor call ran is in it and stays (issue 12).
                await lock_incident_id(conn, factory.incident.id, now=done_at)
            await complete_effect(conn, intent.key, outcome.vendor_ref, outcome.detail, now=done_at)
            if self._owner_first is not None and intent.kind is IntentKind.NOTIFY_OWNER:
                await self._owner_first.release(conn, intent, now=done_at)
            if outcome.update is not None:
                current = await load_postmortem(conn, factory.incident.id)
                if current is not None:
                    await save_postmortem(conn, outcome.update(current), now=done_at)
            # In the same transaction: the ledger row and its audit entry commit together.
            await self._audit(
                factory,
                "effect_done",
                intent.reason,
                bind=conn,
                vendor_ref=outcome.vendor_ref,
                outcome=outcome.detail,
            )
            # One write with the outcome, not a transaction of its own (issue 16).
            await self._reconcile(factory.incident.id, conn)
        return True

    async def _requeue(self, intent: Intent, incident_id: str) -> None:
        async with transaction(self.engine) as conn:
            await enqueue_job(
                conn,
                EFFECT,
                effect_payload(incident_id, intent.key, self._connector_of.get(intent.kind)),
                dedupe_key=effect_key(intent.key),
                run_at=intent.due_at,
            )

    async def _audit(
        self,
        factory: _RequestFactory,
        action: str,
        reason: str,
        *,
        bind: Bind | None = None,
        **detail: Any,
    ) -> None:
        intent = factory.intent
        await record(
            bind if bind is not None else self.engine,
            AuditEntry(
                subject=factory.incident.id,
                action=action,
                actor="pmhub",
                reason=reason,
                rule=intent.rule,
                detail={"key": intent.key, "kind": intent.kind.value, "clause": intent.clause}
                | detail,
            ),
            now=self._clock(),
        )


@dataclass(frozen=True)
class _RequestFactory:
    incident: Incident
    postmortem: PostMortem | None
    plan: Plan
    intent: Intent

    def request(
        self,
        *,
        unknown_outcome: bool,
        earlier_ref: str | None = None,
        earlier_detail: Mapping[str, Any] | None = None,
    ) -> EffectRequest:
        return EffectRequest(
            intent=self.intent,
            incident=self.incident,
            postmortem=self.postmortem,
            plan=self.plan,
            unknown_outcome=unknown_outcome,
            earlier_ref=earlier_ref,
            earlier_detail=dict(earlier_detail or {}),
        )
