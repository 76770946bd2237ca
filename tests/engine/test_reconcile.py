"""The reconciler: the plan becomes jobs, once; the effect job re-checks and records.

Incidents are stored the way ingest stores them (facts merged into a record); the
reconciler and the effect runner then run as the worker would run them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.engine.effects import EffectOutcome, EffectRequest, EffectRunner
from hub.engine.reconcile import Reconciler
from hub.intake.merge import merge
from hub.jobs.kinds import EFFECT
from hub.jobs.queue import JobQueue, JobState
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentRecord, IncidentUpdate
from hub.model.intent import IntentKind
from hub.policy import PolicySet, evaluate, load_policies
from hub.store.audit import list_entries
from hub.store.effects import EffectState, begin_effect, complete_effect, get_effect
from hub.store.state import load_postmortem, save_incident
from hub.store.tables import jobs as jobs_table

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 19, 19, 5, tzinfo=UTC)
ALICE = Person(email="alice@example.com", name="Alice Chen", pagerduty_id="PALICE1")


def _incident(priority_severity: str, *, status: str = "resolved") -> IncidentRecord:
    fields: dict[str, object] = {
        "title": "Checkout API 5xx",
        "reference": "PD-1042",
        "severity": priority_severity,
        "status": status,
        "created_at": RESOLVED - timedelta(hours=5),
        "incident_commander": ALICE,
    }
    if status == "resolved":
        fields["resolved_at"] = RESOLVED
    update = IncidentUpdate.of(Source.PAGERDUTY, "P1042", RESOLVED, fields)
    return merge(None, update).record


def _policies() -> PolicySet:
    return load_policies([POLICY])


async def _effect_jobs(queue: JobQueue) -> dict[str, datetime]:
    jobs = await queue.list_jobs(kind=EFFECT, state=JobState.PENDING, limit=1000)
    return {str(job.payload["key"]): job.run_at for job in jobs}


async def test_sev1_creates_the_postmortem_and_enqueues_each_intent_once(
    engine: AsyncEngine,
) -> None:
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    reconciler = Reconciler(engine, queue, _policies(), clock=lambda: NOW)

    enqueued = await reconciler.reconcile(record.id)

    postmortem = await load_postmortem(engine, record.id)
    assert postmortem is not None
    assert postmortem.status.value == "draft"
    plan = evaluate(record.incident, postmortem, _policies(), NOW)
    wanted = {
        i.key: i.due_at or NOW for i in plan.intents if i.kind is not IntentKind.CREATE_POSTMORTEM
    }
    jobs = await _effect_jobs(queue)
    assert jobs == wanted
    assert enqueued == len(wanted)
    [created] = [
        e for e in await list_entries(engine, record.id) if e.action == "postmortem_created"
    ]
    assert created.rule == "major"

    # Replaying changes nothing: the same plan, the same pending jobs, no second post-mortem.
    assert await reconciler.reconcile(record.id) == 0
    assert await _effect_jobs(queue) == jobs
    audit = [e for e in await list_entries(engine, record.id) if e.action == "postmortem_created"]
    assert len(audit) == 1


async def test_an_effect_done_for_the_same_intent_is_not_enqueued_again(
    engine: AsyncEngine,
) -> None:
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    reconciler = Reconciler(engine, queue, _policies(), clock=lambda: NOW)
    await reconciler.reconcile(record.id)
    postmortem = await load_postmortem(engine, record.id)
    plan = evaluate(record.incident, postmortem, _policies(), NOW)
    notify = plan.intent_of(IntentKind.NOTIFY_OWNER)
    assert notify is not None

    # The effect job ran and recorded the vendor's id; its queued jobs finished.
    await begin_effect(engine, notify.key, notify.kind.value, notify.fingerprint())
    await complete_effect(engine, notify.key, "1700000000.000100")
    for job in await queue.lease("t", limit=1000, lease_seconds=60, now=NOW):
        await queue.complete(job, "t", now=NOW)

    await reconciler.reconcile(record.id)
    assert notify.key not in await _effect_jobs(queue)


async def test_minor_incident_gets_nothing(engine: AsyncEngine) -> None:
    record = _incident("SEV-4")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    assert await Reconciler(engine, queue, _policies(), clock=lambda: NOW).reconcile(record.id) == 0
    assert await load_postmortem(engine, record.id) is None
    assert await _effect_jobs(queue) == {}


async def test_unresolved_incident_waits(engine: AsyncEngine) -> None:
    record = _incident("SEV-1", status="acknowledged")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    assert await Reconciler(engine, queue, _policies(), clock=lambda: NOW).reconcile(record.id) == 0
    assert await load_postmortem(engine, record.id) is None


async def test_effect_without_a_connector_is_recorded_as_skipped_once(engine: AsyncEngine) -> None:
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    policies = _policies()
    reconciler = Reconciler(engine, queue, policies, clock=lambda: NOW)
    await reconciler.reconcile(record.id)
    runner = EffectRunner(engine, policies, {}, clock=lambda: NOW, reconcile=reconciler.request)
    jobs = await queue.lease("t", limit=100, lease_seconds=60, now=NOW)
    notify = next(j for j in jobs if j.kind == EFFECT and ":owner:notify:" in str(j.payload["key"]))

    await runner(notify)
    await runner(notify)  # a repeat (crash after the call, lease taken over) changes nothing

    effect = await get_effect(engine, str(notify.payload["key"]))
    assert effect is not None
    assert effect.state is EffectState.DONE
    assert "no connector is configured" in effect.detail["skipped"]
    skipped = [e for e in await list_entries(engine, record.id) if e.action == "effect_skipped"]
    assert len(skipped) == 1
    assert skipped[0].rule == "major"


async def test_a_timer_not_yet_due_is_put_back_for_its_time(engine: AsyncEngine) -> None:
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    policies = _policies()
    reconciler = Reconciler(engine, queue, policies, clock=lambda: NOW)
    await reconciler.reconcile(record.id)
    future = {k: t for k, t in (await _effect_jobs(queue)).items() if t > NOW}
    assert future, "the SEV-1 plan has reminders in the future"
    # Timers do not run before their time: leasing now does not return them.
    leased = await queue.lease("t", limit=1000, lease_seconds=60, now=NOW)
    assert not {str(j.payload.get("key")) for j in leased} & set(future)


async def test_a_replay_looks_the_plan_up_once_and_writes_no_job(engine: AsyncEngine) -> None:
    """A reconcile runs after every effect; with nothing changed it reads the ledger and
    the queue once each for the whole plan, and enqueues nothing (issue 16: one effects
    SELECT and one INSERT + UPDATE per intent were most of a reconcile's cost)."""
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    reconciler = Reconciler(engine, queue, _policies(), clock=lambda: NOW)
    await reconciler.reconcile(record.id)
    jobs_before = await _effect_jobs(queue)
    assert len(jobs_before) > 3, "the SEV-1 plan has several intents"
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(" ".join(str(args[2]).split()).upper())

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert await reconciler.reconcile(record.id) == 0
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

    ledger_reads = [s for s in statements if s.startswith("SELECT") and "FROM EFFECTS" in s]
    # One for the plan; the milestones look at (at most) two rows of their own.
    assert len([s for s in ledger_reads if re.search(r'EFFECTS\."?KEY"? IN \(', s)]) == 1
    assert len(ledger_reads) <= 3
    assert not [s for s in statements if s.startswith(("INSERT INTO JOBS", "UPDATE JOBS"))]
    assert await _effect_jobs(queue) == jobs_before


async def test_a_pending_job_due_later_than_the_plan_is_brought_forward(
    engine: AsyncEngine,
) -> None:
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    reconciler = Reconciler(engine, queue, _policies(), clock=lambda: NOW)
    await reconciler.reconcile(record.id)
    jobs = await queue.list_jobs(kind=EFFECT, state=JobState.PENDING, limit=1000)
    due_now = next(job for job in jobs if job.run_at == NOW)
    async with engine.begin() as conn:  # as if enqueued earlier for a later time
        await conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == due_now.id)
            .values(run_at=NOW + timedelta(hours=3))
        )

    assert await reconciler.reconcile(record.id) == 0  # deduped into the pending job...
    moved = await queue.get(due_now.id)
    assert moved is not None
    assert moved.run_at == NOW  # ...which is due when the plan says again


async def test_a_job_waiting_for_its_retry_is_not_brought_forward(engine: AsyncEngine) -> None:
    """A job sent away from a backed-up channel (or told Retry-After) keeps its time:
    every reconcile of its incident used to bring it back at once (chaos scenario E:
    sent away again each time, the channel's return times 17 minutes ahead)."""
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    reconciler = Reconciler(engine, queue, _policies(), clock=lambda: NOW)
    await reconciler.reconcile(record.id)
    [job] = await queue.lease("w1", limit=1, lease_seconds=30, now=NOW)
    come_back_at = NOW + timedelta(minutes=2)
    backlogged = "LaneBacklogged: 16 calls are waiting for D0ALICE's turn"
    await queue.fail(job, "w1", backlogged, retry_at=come_back_at, now=NOW, counted=False)

    await reconciler.reconcile(record.id)

    waiting = await queue.get(job.id)
    assert waiting is not None
    assert (waiting.state, waiting.run_at) == (JobState.PENDING, come_back_at)
    assert (await _effect_jobs(queue))[str(job.payload["key"])] == come_back_at


async def test_a_done_effect_and_its_audit_entry_commit_in_one_transaction(
    engine: AsyncEngine,
) -> None:
    """The ledger's `done` and the audit's `effect_done` are one write (issue 16: each
    effect job opened a transaction of its own for the audit entry)."""
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    policies = _policies()
    reconciler = Reconciler(engine, queue, policies, clock=lambda: NOW)
    await reconciler.reconcile(record.id)
    jobs = await queue.lease("t", limit=100, lease_seconds=60, now=NOW)
    notify = next(j for j in jobs if j.kind == EFFECT and ":owner:notify:" in str(j.payload["key"]))
    transactions: list[list[str]] = []

    async def dm(_request: EffectRequest) -> EffectOutcome:
        return EffectOutcome(vendor_ref="D0ALICE:1700000000.000100")

    def began(_conn: object) -> None:
        transactions.append([])

    def seen(*args: object) -> None:
        if transactions:
            transactions[-1].append(" ".join(str(args[2]).split()).upper())

    runner = EffectRunner(
        engine,
        policies,
        {IntentKind.NOTIFY_OWNER: dm},
        clock=lambda: NOW,
        reconcile=reconciler.request,
    )
    event.listen(engine.sync_engine, "begin", began)
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        await runner(notify)
    finally:
        event.remove(engine.sync_engine, "begin", began)
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

    [completing] = [t for t in transactions if any(s.startswith("UPDATE EFFECTS") for s in t)]
    assert any(s.startswith("INSERT INTO AUDIT") for s in completing)
    done = [e for e in await list_entries(engine, record.id) if e.action == "effect_done"]
    assert [e.detail["key"] for e in done] == [notify.payload["key"]]
    effect = await get_effect(engine, str(notify.payload["key"]))
    assert effect is not None
    assert (effect.state, effect.vendor_ref) == (EffectState.DONE, "D0ALICE:1700000000.000100")
