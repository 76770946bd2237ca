"""Retention (issue 12): what is past its horizon goes, in batches; what is live stays."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.jobs.kinds import RETENTION
from hub.jobs.model import JobState
from hub.jobs.queue import JobQueue
from hub.jobs.retention import RetentionRunner
from hub.metrics import Metrics
from hub.store.retention import Horizons, Removed, apply_retention
from hub.store.tables import audit, effects, inbox, incidents, jobs, pacing_slots, postmortems
from tests.store.helpers import T0

DAY = timedelta(days=1)
HORIZONS = Horizons(
    inbox=30 * DAY, jobs=30 * DAY, dead_jobs=90 * DAY, effect_payloads=90 * DAY, audit=400 * DAY
)
NOW = T0 + 1000 * DAY
OLD = NOW - 500 * DAY  # past every horizon
RECENT = NOW - DAY  # within every horizon
DEAD_BUT_RECENT = NOW - 60 * DAY  # past the jobs horizon, within the dead letters'


async def _rows(engine: AsyncEngine, *columns: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(select(*columns))).all()]


async def _seed(engine: AsyncEngine) -> None:
    def delivery(name: str, received: datetime, processed: datetime | None) -> dict[str, Any]:
        return {
            "source": "pagerduty",
            "delivery_id": name,
            "headers": {},
            "body": b"{}",
            "received_at": received,
            "processed_at": processed,
        }

    def job(name: str, state: str, finished: datetime | None) -> dict[str, Any]:
        return {
            "kind": "ingest",
            "payload": {"name": name},
            "dedupe_key": name,
            "state": state,
            "run_at": OLD,
            "attempts": 1,
            "created_at": OLD,
            "updated_at": OLD,
            "finished_at": finished,
        }

    def effect(key: str, state: str, at: datetime, detail: dict[str, Any]) -> dict[str, Any]:
        return {
            "key": key,
            "kind": "chat_post",
            "state": state,
            "vendor_ref": "ts",
            "intent_hash": "h",
            "detail": detail,
            "created_at": at,
            "updated_at": at,
        }

    payload = {"message": "x" * 200, "blocks": [1, 2, 3]}
    async with engine.begin() as conn:
        await conn.execute(
            insert(inbox),
            [
                delivery("old-processed-1", OLD, OLD),
                delivery("old-processed-2", OLD, OLD),
                delivery("old-processed-3", OLD, OLD),
                delivery("old-unprocessed", OLD, None),
                delivery("recent-processed", RECENT, RECENT),
            ],
        )
        await conn.execute(
            insert(jobs),
            [
                job("old-done-1", "done", OLD),
                job("old-done-2", "done", OLD),
                job("old-dead", "dead", OLD),
                job("dead-recently", "dead", DEAD_BUT_RECENT),
                job("old-pending", "pending", None),
                job("old-running", "running", None),
                job("recent-done", "done", RECENT),
            ],
        )
        for pm, status in (("pd:CLOSED", "closed"), ("pd:OPEN", "draft")):
            await conn.execute(
                insert(incidents).values(
                    id=pm, source="pd", source_id=pm[3:], data={}, created_at=OLD, updated_at=OLD
                )
            )
            await conn.execute(
                insert(postmortems).values(
                    id=pm, incident_id=pm, status=status, data={}, created_at=OLD, updated_at=OLD
                )
            )
        await conn.execute(
            insert(effects),
            [
                effect("pm:pd:CLOSED:post", "done", OLD, payload),
                effect("pm:pd:CLOSED:meeting", "done", OLD, {**payload, "skipped": "no calendar"}),
                effect("pm:pd:OPEN:post", "done", OLD, payload),
                effect("pm:pd:CLOSED:pending", "pending", OLD, payload),
                effect("pm:pd:CLOSED:recent", "done", RECENT, payload),
                effect("digest:sre:2024-06-03", "done", OLD, payload),
            ],
        )
        await conn.execute(
            insert(pacing_slots),
            [{"key": "slack:C-idle", "next_at": OLD}, {"key": "slack:C-busy", "next_at": NOW}],
        )
        await conn.execute(
            insert(audit),
            [
                {"at": at, "subject": s, "action": "a", "actor": "x", "reason": "r", "detail": {}}
                for s, at in (("old", OLD), ("older", OLD - DAY), ("recent", RECENT))
            ],
        )


async def test_removes_what_is_past_its_horizon_and_keeps_what_is_live(
    engine: AsyncEngine,
) -> None:
    await _seed(engine)

    removed = await apply_retention(engine, HORIZONS, now=NOW, batch_size=2)

    assert removed == Removed(inbox=3, jobs=3, effect_payloads=3, audit=2, pacing_slots=1)
    assert set(await _rows(engine, inbox.c.delivery_id)) == {
        ("old-unprocessed",),
        ("recent-processed",),
    }
    assert set(await _rows(engine, jobs.c.dedupe_key)) == {
        ("dead-recently",),
        ("old-pending",),
        ("old-running",),
        ("recent-done",),
    }
    details = dict(await _rows(engine, effects.c.key, effects.c.detail))
    assert details["pm:pd:CLOSED:post"] == {"pruned": True}
    # What the flow reads back from a done effect stays: milestones ask "skipped?".
    assert details["pm:pd:CLOSED:meeting"] == {"skipped": "no calendar", "pruned": True}
    assert details["digest:sre:2024-06-03"] == {"pruned": True}
    for live in ("pm:pd:OPEN:post", "pm:pd:CLOSED:pending", "pm:pd:CLOSED:recent"):
        assert "pruned" not in details[live], live
    # The ledger rows stay, with their done time: exactly-once still holds.
    times = dict(await _rows(engine, effects.c.key, effects.c.updated_at))
    assert times["pm:pd:CLOSED:post"] == OLD
    assert set(await _rows(engine, audit.c.subject)) == {("recent",)}
    assert set(await _rows(engine, pacing_slots.c.key)) == {("slack:C-busy",)}


async def test_a_second_run_finds_nothing_to_do(engine: AsyncEngine) -> None:
    await _seed(engine)
    await apply_retention(engine, HORIZONS, now=NOW, batch_size=2)

    assert await apply_retention(engine, HORIZONS, now=NOW, batch_size=2) == Removed()


async def test_the_timer_job_runs_retention_and_queues_its_next_run(engine: AsyncEngine) -> None:
    await _seed(engine)
    reported: list[Removed] = []
    runner = RetentionRunner(
        engine,
        HORIZONS,
        every=timedelta(hours=1),
        batch_size=100,
        clock=lambda: NOW,
        on_removed=reported.append,
    )
    await runner.schedule()
    await runner.schedule()  # a second replica starting: still one pending run
    queue = JobQueue(engine)
    pending = await queue.list_jobs(JobState.PENDING, kind=RETENTION)
    assert [j.run_at for j in pending] == [NOW + timedelta(hours=1)]
    async with engine.begin() as conn:  # the worker has taken it
        await conn.execute(update(jobs).where(jobs.c.id == pending[0].id).values(state="running"))

    await runner(pending[0])

    assert reported == [Removed(inbox=3, jobs=3, effect_payloads=3, audit=2, pacing_slots=1)]
    # The run queued the next one, an interval on.
    nexts = await queue.list_jobs(JobState.PENDING, kind=RETENTION)
    assert [j.run_at for j in nexts] == [NOW + timedelta(hours=1)]
    assert nexts[0].id != pending[0].id


def test_what_retention_removed_is_counted_by_table() -> None:
    metrics = Metrics()
    metrics.count_retention(Removed(inbox=3, audit=2))
    metrics.count_retention(Removed(inbox=1))

    def removed(table: str) -> float | None:
        return metrics.registry.get_sample_value("pmhub_retention_removed_total", {"table": table})

    assert (removed("inbox"), removed("audit"), removed("jobs")) == (4, 2, 0)
