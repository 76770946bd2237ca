"""`soak`: simulated weeks at a steady rate with retention on.

One daemon on SQLite (`tests.bench.soak_daemon`: `pmhub serve` whose clock the run
moves a day at a time while it is idle), the vendor fakes, and each simulated day the
same number of incidents (triggered → acknowledged → resolved). People close each
post-mortem a week after its incident (admin API, with override: the guards are not
what is measured). Retention keeps a week of deliveries and finished jobs here, so
that the run sees it remove rows several times. After each day: the daemon's RSS, the
database's size and rows, the timers (pending jobs due later) and the open
post-mortems. Expected: RSS flat, the database bounded once retention catches up,
timers proportional to open post-mortems.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp

from hub.demo.world import start_world
from hub.runtime import utc_now
from tests.bench.fleet_bench import (
    POLICY,
    Bench,
    Setup,
    _Options,
    add_incident,
    database_bytes,
    deliver,
    enforce_vendor_limits,
    rss_mb,
)
from tests.reliability.chaos.fleet import Fleet, Replica, free_port
from tests.reliability.chaos.scenario import _until_quiet
from tests.reliability.chaos.traffic import Change, Traffic

DAY = 86_400.0
RETENTION_DAYS = 7
RETENTION = f"""\
retention:
  inbox_days: {RETENTION_DAYS}
  jobs_days: {RETENTION_DAYS}
  dead_jobs_days: 14
  effect_payload_days: 14
  audit_days: 30
  every_minutes: 360
"""
CLOSE_AFTER_DAYS = 7
# The soak measures memory and growth, not pacing: Slack's per-channel limit would make
# each simulated day last a minute of real time. The tier limits stay on.
SOAK_POST_INTERVAL = 0.05


@dataclass
class DaySample:
    day: int
    rss_mb: float
    db_bytes: int
    rows: dict[str, int]
    timers: int  # pending jobs due later than now (the daemon's clock)
    open_postmortems: int


@dataclass
class SoakResult:
    days: int
    incidents_per_day: int
    samples: list[DaySample] = field(default_factory=list)
    closed: int = 0
    seconds: float = 0.0
    error: str | None = None
    skipped: str | None = None


async def run_soak(days: int, per_day: int, workdir: Path) -> SoakResult:
    result = SoakResult(days, per_day)
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    offset_file = workdir / "clock-offset"
    offset_file.write_text("0")
    async with AsyncExitStack() as stack:
        world = await start_world(stack, workdir, utc_now())
        enforce_vendor_limits(world, 0.0)
        world.slack.min_post_interval = SOAK_POST_INTERVAL
        world.statuspage.min_interval = SOAK_POST_INTERVAL
        store_url = f"sqlite+aiosqlite:///{(workdir / 'bench.db').resolve()}"
        port = free_port()
        config = workdir / "soak.yaml"
        options = _Options("127.0.0.1", port, POLICY, 5)
        config.write_text(world.config_text(store_url, options) + RETENTION)
        replica = Replica("soak", config, port)
        with (workdir / "soak.log").open("ab") as log:
            daemon = [sys.executable, "-m", "tests.bench.soak_daemon", "--config", str(config)]
            replica.process = subprocess.Popen(
                [*daemon, "--offset-file", str(offset_file)],
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        fleet = Fleet([replica], random.Random(1))
        stack.callback(fleet.stop_all)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        await fleet.wait_ready(replica, session)
        traffic = Traffic(world, fleet, random.Random(1))
        bench = Bench(Setup("sqlite"), world, fleet, store_url, session, traffic)
        pid = replica.process.pid
        offset = 0.0
        for day in range(days):
            now = utc_now() + timedelta(seconds=offset)
            for i in range(per_day):
                deliveries = add_incident(bench, day * per_day + i, now)
                traffic.incidents.append(deliveries["incident.resolved"].incident)
                for delivery in deliveries.values():
                    await deliver(bench, delivery)
            await _until_quiet(world, store_url, 120.0)
            if day >= CLOSE_AFTER_DAYS:
                week_ago = traffic.incidents[(day - CLOSE_AFTER_DAYS) * per_day :][:per_day]
                result.closed += await _close(traffic, session, week_ago)
            offset += DAY
            offset_file.write_text(str(offset))
            replica.process.send_signal(signal.SIGUSR1)
            await asyncio.sleep(1.0)  # the timers now due run
            await _until_quiet(world, store_url, 120.0)
            result.samples.append(await _sample(bench, day, pid))
    result.seconds = round(time.monotonic() - started, 1)
    return result


async def _close(traffic: Traffic, session: aiohttp.ClientSession, incidents: list[str]) -> int:
    """Move each post-mortem through review to closed; how many got there."""
    closed = 0
    for pd_id in incidents:
        path = f"/postmortems/pm:pagerduty:{pd_id}/transitions"
        for status in ("in_review", "reviewed", "closed"):
            body = {"to": status, "override": True, "reason": "soak: a week on"}
            change = Change(pd_id, "transition", "POST", path, body)
            await traffic._send_change(session, change)
        closed += int(change.acknowledged)
    return closed


async def _sample(bench: Bench, day: int, pid: int) -> DaySample:
    store = bench.store
    rows = {}
    for table in ("inbox", "jobs", "effects", "audit", "postmortems"):
        rows[table] = int((await store.rows(f"SELECT count(*) FROM {table}"))[0][0])  # noqa: S608
    timers = await store.rows("SELECT run_at FROM jobs WHERE state = 'pending'")
    open_pms = await store.rows("SELECT count(*) FROM postmortems WHERE status != 'closed'")
    return DaySample(
        day=day + 1,
        rss_mb=round(rss_mb(pid)[0], 1),
        db_bytes=await database_bytes(bench.store_url),
        rows=rows,
        timers=len(timers),
        open_postmortems=int(open_pms[0][0]),
    )
