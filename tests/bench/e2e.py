"""`e2e`: one incident at a time, how long after the resolve each stage and outcome lands.

For each incident (20 in a row at full size): its triggered and acknowledged deliveries
are sent and left to settle, then the resolve is sent and the clock starts. Stages, all
from that send: the 202; the delivery ingested (inbox `processed_at`); the incident
reconciled (its reconcile job finished); the first effect started (effects row created);
then what the team sees at the fakes (polled every 20 ms): the owner's DM, the
announcement in the incidents channel, the meeting on the calendar. Database stamps are
the replicas' wall clock, the same machine's as the harness's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from hub.runtime import utc_now
from hub.store.db import create_engine
from hub.store.tables import inbox, jobs
from tests.bench.fleet_bench import (
    OUTCOMES,
    Bench,
    Setup,
    add_incident,
    deliver,
    outcomes,
    running,
)
from tests.bench.loadgen import percentile
from tests.reliability.chaos.scenario import _until_quiet
from tests.reliability.chaos.tally import count

STAGES = ("202", "ingested", "reconciled", "effect start", *OUTCOMES)
POLL_SECONDS = 0.02
OUTCOME_TIMEOUT = 60.0
SETTLE_SECONDS = 0.5
# Timers further ahead (reminders, read-back checks) are the process, not the incident's stir.
SETTLE_HORIZON = timedelta(seconds=5)


@dataclass
class E2eResult:
    label: str
    store: str
    vendor_latency: float
    incidents: int
    seconds: dict[str, list[float]] = field(default_factory=dict)  # stage -> one per incident
    never: dict[str, int] = field(default_factory=dict)  # stage -> incidents it never came
    duplicates: int = 0
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None

    def quantile(self, stage: str, q: float) -> float | None:
        return percentile(sorted(self.seconds.get(stage, [])), q)


def setups(quick: bool, postgres: bool) -> list[Setup]:
    """Both stores, with instant vendors and again 100 ms away; CI's size: SQLite only."""
    stores = ["sqlite", "postgres"] if postgres and not quick else ["sqlite"]
    latencies = [0.0] if quick else [0.0, 0.1]
    return [Setup(store, 1, latency) for latency in latencies for store in stores]


async def run_e2e(setup: Setup, incidents: int, workdir: Path, postgres_url: str) -> E2eResult:
    result = E2eResult(setup.label, setup.store, setup.vendor_latency, incidents)
    async with running(setup, workdir, postgres_url) as bench:
        for n in range(incidents):
            await _one_incident(bench, n, result)
        await _until_quiet(bench.world, bench.store_url, OUTCOME_TIMEOUT * 5)
        tally = await count(
            bench.world, bench.traffic, bench.store_url, bench.fleet.replicas[0].config
        )
        result.duplicates = tally.duplicate_count
        result.missing = tally.missing + tally.lost
    return result


async def _one_incident(bench: Bench, n: int, result: E2eResult) -> None:
    deliveries = add_incident(bench, n, utc_now())
    pd_id = deliveries["incident.resolved"].incident
    bench.traffic.incidents.append(pd_id)
    for event_type in ("incident.triggered", "incident.acknowledged"):
        await deliver(bench, deliveries[event_type])
    await _settle(bench)
    resolved = deliveries["incident.resolved"]
    started_wall, started = time.time(), time.monotonic()
    await deliver(bench, resolved)
    seen: dict[str, float] = {"202": time.monotonic() - started}
    deadline = started + OUTCOME_TIMEOUT
    while time.monotonic() < deadline and len(seen) < 1 + len(OUTCOMES):
        for what in outcomes(bench.world).get(pd_id, set()):
            seen.setdefault(what, time.monotonic() - started)
        await asyncio.sleep(POLL_SECONDS)
    seen.update(await _store_stages(bench, pd_id, resolved.delivery_id, started_wall))
    for stage in STAGES:
        if stage in seen:
            result.seconds.setdefault(stage, []).append(seen[stage])
        else:
            result.never[stage] = result.never.get(stage, 0) + 1


async def _settle(bench: Bench) -> None:
    """Until the deliveries so far are processed, no job is running or due within
    `SETTLE_HORIZON` (a message waiting for its channel's next pacing slot is a pending
    job due within the second), and the fakes were still for a moment. Without the jobs,
    the fakes' stillness alone ended the wait between two posts to the owner's DM
    channel (paced a second apart, longer than the still moment), so the next incident's
    DM queued behind the last one's: one incident at a time means the one before is done."""
    last, still_since = -1, time.monotonic()
    deadline = time.monotonic() + OUTCOME_TIMEOUT
    unprocessed = select(func.count()).select_from(inbox).where(inbox.c.processed_at.is_(None))
    engine = create_engine(bench.store_url)
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                waiting = (await conn.execute(unprocessed)).scalar_one()
                busy = (
                    await conn.execute(_running_or_due(utc_now() + SETTLE_HORIZON))
                ).scalar_one()
            activity = len(bench.world.slack.exchanges) + len(bench.world.calendar.exchanges)
            if waiting or busy or activity != last:
                last, still_since = activity, time.monotonic()
            elif time.monotonic() - still_since >= SETTLE_SECONDS:
                return
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


def _running_or_due(by: datetime) -> Select[int]:
    soon = and_(jobs.c.state == "pending", jobs.c.run_at <= by)
    return select(func.count()).select_from(jobs).where(or_(jobs.c.state == "running", soon))


async def _store_stages(
    bench: Bench, pd_id: str, delivery_id: str, started_wall: float
) -> dict[str, float]:
    """Seconds from the send to the stages the store stamps."""
    store = bench.store
    stages: dict[str, float] = {}
    ingested = await store.rows(
        f"SELECT processed_at FROM inbox WHERE delivery_id = '{delivery_id}'"  # noqa: S608 - ours
    )
    reconciled = await store.rows(
        "SELECT finished_at FROM jobs WHERE kind = 'reconcile'"  # noqa: S608 - our own ids
        f" AND dedupe_key = 'reconcile:pagerduty:{pd_id}' AND finished_at IS NOT NULL"
    )
    effects = await store.rows(
        f"SELECT created_at FROM effects WHERE key LIKE '%{pd_id}%'"  # noqa: S608 - ours
    )
    for stage, rows in (
        ("ingested", ingested),
        ("reconciled", reconciled),
        ("effect start", effects),
    ):
        after = [
            seconds
            for (stamp,) in rows
            if stamp is not None and (seconds := _epoch(stamp) - started_wall) >= 0
        ]
        if after:
            stages[stage] = min(after)
    return stages


def _epoch(stamp: Any) -> float:
    moment = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
