"""Asking for a reconcile after an effect: a burst folds into one, none is lost (issue 16).

Every finished effect asks for a reconcile of its incident. The request is due a moment
later, so the requests of a burst dedupe into one pending job; a request made while a
reconcile of the incident runs must still get a run of its own after it (what the
running one read may predate the effect that asked).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.engine.effects import EffectOutcome, EffectRequest, EffectRunner
from hub.engine.reconcile import Reconciler
from hub.jobs.kinds import EFFECT, RECONCILE
from hub.jobs.queue import Job, JobQueue, JobState
from hub.model.intent import IntentKind
from hub.store.state import save_incident
from tests.engine.test_reconcile import NOW, _incident, _policies

FOLD = timedelta(milliseconds=50)
INCIDENT_ID = "pagerduty:P1042"


class SteppingClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


async def _pending_reconciles(queue: JobQueue) -> list[Job]:
    return await queue.list_jobs(kind=RECONCILE, state=JobState.PENDING)


async def test_requests_within_the_fold_make_one_reconcile_due_after_the_first(
    engine: AsyncEngine,
) -> None:
    queue, clock = JobQueue(engine), SteppingClock(NOW)
    reconciler = Reconciler(
        engine, queue, _policies(), clock=clock, fold_seconds=FOLD.total_seconds()
    )

    await reconciler.request(INCIDENT_ID)
    clock.now += FOLD / 2
    await reconciler.request(INCIDENT_ID)  # folds in, and does not push the first back

    [pending] = await _pending_reconciles(queue)
    assert pending.run_at == NOW + FOLD
    assert await queue.lease("w", limit=10, lease_seconds=60, now=NOW + FOLD / 2) == []
    [leased] = await queue.lease("w", limit=10, lease_seconds=60, now=NOW + FOLD)
    assert (leased.id, leased.payload) == (pending.id, {"incident_id": INCIDENT_ID})


async def test_a_request_while_a_reconcile_runs_gets_a_run_of_its_own_after_it(
    engine: AsyncEngine,
) -> None:
    queue, clock = JobQueue(engine), SteppingClock(NOW)
    reconciler = Reconciler(
        engine, queue, _policies(), clock=clock, fold_seconds=FOLD.total_seconds()
    )
    await reconciler.request(INCIDENT_ID)
    [running] = await queue.lease("w", limit=10, lease_seconds=60, now=NOW + FOLD)

    clock.now = NOW + 2 * FOLD  # an effect finishes while that reconcile runs
    await reconciler.request(INCIDENT_ID)
    await queue.complete(running, "w", now=clock.now)

    [after] = await queue.lease("w", limit=10, lease_seconds=60, now=NOW + 3 * FOLD)
    assert after.kind == RECONCILE
    assert after.id != running.id
    assert after.payload == {"incident_id": INCIDENT_ID}


async def test_an_effects_outcome_and_its_reconcile_request_are_one_write(
    engine: AsyncEngine,
) -> None:
    record = _incident("SEV-1")
    await save_incident(engine, record)
    queue = JobQueue(engine)
    policies = _policies()
    reconciler = Reconciler(engine, queue, policies, clock=lambda: NOW)
    await reconciler.reconcile(record.id)
    jobs = await queue.lease("t", limit=100, lease_seconds=60, now=NOW)
    notify = next(j for j in jobs if j.kind == EFFECT and ":owner:notify:" in str(j.payload["key"]))

    async def dm(_request: EffectRequest) -> EffectOutcome:
        return EffectOutcome(vendor_ref="D0ALICE:1700000000.000100")

    runner = EffectRunner(
        engine,
        policies,
        {IntentKind.NOTIFY_OWNER: dm},
        clock=lambda: NOW,
        reconcile=reconciler.request,
    )
    transactions: list[list[str]] = []

    def began(_conn: object) -> None:
        transactions.append([])

    def seen(*args: object) -> None:
        if transactions:
            transactions[-1].append(" ".join(str(args[2]).split()).upper())

    event.listen(engine.sync_engine, "begin", began)
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        await runner(notify)
    finally:
        event.remove(engine.sync_engine, "begin", began)
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

    [completing] = [t for t in transactions if any(s.startswith("UPDATE EFFECTS") for s in t)]
    assert any(s.startswith("INSERT INTO JOBS") for s in completing)
    assert not [t for t in transactions if t is not completing and _writes_jobs(t)]
    [pending] = await _pending_reconciles(queue)
    assert pending.payload == {"incident_id": record.id}


def _writes_jobs(statements: list[str]) -> bool:
    return any(s.startswith(("INSERT INTO JOBS", "UPDATE JOBS")) for s in statements)
