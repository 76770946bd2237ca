"""The `reconcile` job: plan = policy(incident, post-mortem, now), diffed with the ledger.

It is the one place decisions become work. The plan is a pure function of stored
state and the time, so replaying any event, any number of times, in any order,
produces the same plan; only intents the effects ledger does not already show done
(for the same fingerprint) are enqueued, one `effect` job per intent key, at the
intent's due time. Timers are those future jobs: they survive restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.engine.milestones import record_milestones
from hub.errors import Permanent
from hub.jobs.enqueue import keyed_jobs
from hub.jobs.kinds import EFFECT, RECONCILE, effect_key, effect_payload, reconcile_key
from hub.jobs.queue import Job, JobQueue, enqueue_job
from hub.model.intent import IntentKind
from hub.model.postmortem import PostMortem
from hub.policy import Plan, PolicySet, evaluate
from hub.policy.requirement import track
from hub.store.audit import AuditEntry, record
from hub.store.db import transaction
from hub.store.effects import EffectState, get_effects
from hub.store.state import load_postmortem, lock_incident_id, save_postmortem

log = structlog.get_logger("pmhub.reconcile")
# Decided in the reconcile transaction itself, not by an effect job: these change
# pmhub's own state, not a vendor's.
# Done by the reconcile itself, in its transaction: no effect job, no ledger row.
INLINE_INTENTS = frozenset({IntentKind.CREATE_POSTMORTEM})
# The daemon's wait between an effect finishing and the reconcile it asks for: every
# effect asks for one, and the effects of an incident finish in bursts; those of one
# burst fold into a single reconcile (issue 16: 21 reconciles per incident). It delays
# only the steps that follow an effect, never the first ones after a delivery.
RECONCILE_FOLD_SECONDS = 0.05


class Reconciler:
    """The `reconcile` job handler."""

    def __init__(
        self,
        engine: AsyncEngine,
        queue: JobQueue,
        policies: PolicySet,
        *,
        clock: Callable[[], datetime],
        connector_of: Mapping[IntentKind, str] | None = None,
        fold_seconds: float = 0.0,
    ) -> None:
        self.engine, self.queue, self.policies, self._clock = engine, queue, policies, clock
        # How long a requested reconcile waits for more requests to fold into it (see
        # `request`); 0 runs each at once (the tests' frozen clocks rely on that).
        self._fold = timedelta(seconds=fold_seconds)
        # Which connector carries out each intent kind (the wiring's): written on each
        # effect job, so a dead letter and /metrics say which vendor failed (issue 15).
        self._connector_of = dict(connector_of or {})

    async def __call__(self, job: Job) -> None:
        incident_id = job.payload.get("incident_id")
        if not isinstance(incident_id, str):
            raise Permanent(f"reconcile job without an incident_id: {job.payload!r}")
        with structlog.contextvars.bound_contextvars(incident_id=incident_id):
            enqueued = await self.reconcile(incident_id)
        if enqueued:
            self.queue.wake()

    async def reconcile(self, incident_id: str) -> int:
        """Bring the queue in line with the plan; returns how many effect jobs were enqueued."""
        now = self._clock()
        async with transaction(self.engine) as conn:
            # Held to the commit: what this reconcile writes back (the created post-mortem,
            # what requires it, the milestones) is based on what it read (issue 12).
            stored = await lock_incident_id(conn, incident_id, now=now)
            if stored is None:
                raise Permanent(f"incident {incident_id} is not stored")
            postmortem = await load_postmortem(conn, incident_id)
            plan = evaluate(stored.incident, postmortem, self.policies, now)
            if postmortem is None and plan.intent_of(IntentKind.CREATE_POSTMORTEM):
                postmortem = await self._create(conn, plan, now)
                plan = evaluate(stored.incident, postmortem, self.policies, now)
            if postmortem is not None:
                tracked = track(postmortem, plan, now)
                if tracked != postmortem:
                    await self._track(conn, postmortem, tracked, plan, now)
                    plan = evaluate(stored.incident, tracked, self.policies, now)
            enqueued = await self._enqueue_missing(conn, plan, now)
            await record_milestones(conn, postmortem, plan, now)  # for the numbers (issue 15)
        log.info(
            "reconcile.planned",
            rule=plan.rule,
            required=plan.required,
            intents=len(plan.intents),
            enqueued=enqueued,
            problems=list(plan.problems),
        )
        return enqueued

    async def _create(self, conn: AsyncConnection, plan: Plan, now: datetime) -> PostMortem:
        intent = plan.intent_of(IntentKind.CREATE_POSTMORTEM)
        assert intent is not None  # noqa: S101 - checked by the caller
        postmortem = PostMortem(incident_id=plan.incident_id, created_at=now, status_changed_at=now)
        await save_postmortem(conn, postmortem, now=now)
        await record(
            conn,
            AuditEntry(
                subject=plan.incident_id,
                action="postmortem_created",
                actor="pmhub",
                reason=intent.reason,
                rule=intent.rule,
                detail={"severity": plan.severity.value, "status": "draft"},
            ),
            now=now,
        )
        return postmortem

    async def _track(
        self,
        conn: AsyncConnection,
        before: PostMortem,
        after: PostMortem,
        plan: Plan,
        now: datetime,
    ) -> None:
        """Keep which rule requires the post-mortem, and when it stopped being required
        (audited: "why was I asked whether to keep it?")."""
        await save_postmortem(conn, after, now=now)
        drop = after.requirement_dropped
        if drop is not None and before.requirement_dropped is None:
            action, reason = "requirement_dropped", "; ".join(plan.notes[:1]) or "not required"
        elif drop is None and before.requirement_dropped is not None:
            action, reason = "requirement_restored", f"required again by rule {plan.rule!r}"
        else:
            return  # only which rule requires it: bookkeeping, not a decision
        await record(
            conn,
            AuditEntry(
                subject=plan.incident_id,
                action=action,
                actor="pmhub",
                reason=reason,
                rule=plan.rule,
                detail={"required_by": after.required_by, "severity": plan.severity.value},
            ),
            now=now,
        )

    async def _enqueue_missing(self, conn: AsyncConnection, plan: Plan, now: datetime) -> int:
        wanted = [intent for intent in plan.intents if intent.kind not in INLINE_INTENTS]
        # One look at the ledger and one at the queue for the whole plan: a reconcile
        # runs after every effect, and one statement per intent was most of its cost.
        ledger = await get_effects(conn, [intent.key for intent in wanted])
        missing = []
        for intent in wanted:
            effect = ledger.get(intent.key)
            if (
                effect is not None
                and effect.state is not EffectState.PENDING
                and effect.intent_hash == intent.fingerprint()
            ):
                continue  # done (or refused for good) for exactly this intent
            missing.append(intent)
        # A job carrying one out right now needs no second one beside it, which could act
        # twice; when it finishes, the incident is reconciled again anyway. The answer
        # holds to this transaction's commit: no lease can slip in before the enqueue.
        # An intent whose job is already pending, due no later, needs nothing either;
        # nor one whose job waits for its retry: its time is the vendor's Retry-After, a
        # pacer's return time or its backoff, and bringing it forward defeats them (a DM
        # sent away from a backed-up channel came straight back with every reconcile of
        # its incident, was sent away again, and each time pushed the channel's return
        # times one slot further: 17 minutes ahead in the chaos run's scenario E, the
        # channel idle meanwhile). It runs then, and does the intent as it is by then.
        queued = await keyed_jobs(conn, [effect_key(intent.key) for intent in missing])
        enqueued = 0
        for intent in missing:
            key, run_at = effect_key(intent.key), intent.due_at or now
            if key in queued.running or key in queued.retrying:
                continue
            if not queued.enqueue_would_change(key, run_at):
                continue
            job_id = await enqueue_job(
                conn,
                EFFECT,
                effect_payload(plan.incident_id, intent.key, self._connector_of.get(intent.kind)),
                dedupe_key=key,
                run_at=run_at,
                now=now,
            )
            enqueued += job_id is not None
        return enqueued

    async def request(self, incident_id: str, conn: AsyncConnection | None = None) -> None:
        """Ask for a reconcile of one incident soon (after an effect changed its state).

        The reconcile is due `fold_seconds` after the first request: the requests that
        arrive meanwhile (a burst of effects finishing) dedupe into that pending job, and
        the earlier `run_at` wins, so a steady stream cannot push it back. A request made
        while a reconcile of the incident is running queues one more after it (only a
        *pending* job holds the key): what that run read may predate the request.

        With `conn`, the request joins the caller's transaction (it commits with the
        effect it follows); the caller's job ending wakes the worker.
        """
        now = self._clock()
        if conn is not None:
            await self._enqueue_request(conn, incident_id, now)
            return
        async with transaction(self.engine) as own:
            await self._enqueue_request(own, incident_id, now)
        self.queue.wake()

    async def _enqueue_request(
        self, conn: AsyncConnection, incident_id: str, now: datetime
    ) -> None:
        await enqueue_job(
            conn,
            RECONCILE,
            {"incident_id": incident_id},
            dedupe_key=reconcile_key(incident_id),
            run_at=now + self._fold,
            now=now,
        )
