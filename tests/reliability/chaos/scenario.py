"""One chaos scenario, start to finish: the fakes, the replicas, the traffic, the killer,
the wait for quiet, and the count.

Scenarios (issue 12):
  A  replicas on PostgreSQL, a random one SIGKILLed every few seconds
  B  one process on SQLite, killed repeatedly
  C  A, with the vendors failing a share of calls at random (every kind of fault)
  D  A, with one vendor (Slack) down for a while, then back
  E  one replica on a private PostgreSQL cluster restarted while deliveries arrive
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import aiohttp
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.faults import RandomFaults
from hub.demo.world import World, start_world
from hub.runtime import utc_now
from hub.store.db import create_engine
from hub.store.tables import jobs
from tests.bench.run import fresh_postgres
from tests.reliability.chaos.fleet import Fleet, Replica, free_port, stopped
from tests.reliability.chaos.pgcluster import PrivateCluster, cluster_binaries
from tests.reliability.chaos.tally import Tally, count
from tests.reliability.chaos.traffic import Traffic

POLICY = Path(__file__).parents[3] / "config" / "policies" / "pagerduty-process.yaml"
DOWN_VENDOR = "slack"
# The replicas' worker settings that bound how soon they settle: the demo's retry cap
# (checked in `_replicas`: the demo configuration writes it) and the lease this harness
# sets, short so a killed replica's jobs are taken over within seconds.
RETRY_CAP_SECONDS = 5.0
LEASE_SECONDS = 5


@dataclass(frozen=True)
class Params:
    scenario: str
    incidents: int
    replicas: int
    store: str  # "postgres", "sqlite" or "cluster" (E's private one)
    kill_every: float | None  # seconds between SIGKILLs (jittered); None: no killing
    fault_rate: float = 0.0
    seed: int = 1
    outage_seconds: float = 0.0  # D: the vendor's downtime
    db_restarts: int = 0  # E: how many times the database goes down mid-stream
    db_down_seconds: float = 3.0
    rate: float = 5.0  # deliveries started per second
    people_timeout: float = 300.0  # people stop acting after this long past the stream
    quiet_timeout: float = 900.0  # give up waiting for quiet after this long (never quiet)
    vendor_timeout: float = 2.0  # what pmhub waits for a vendor (hangs and late answers)


def scenario_params(name: str, *, incidents: int, seed: int, quick: bool) -> Params:
    """The scenario's parameters at full size, or CI size (`quick`)."""
    replicas, kill_every = (2, 4.0) if quick else (3, 3.0)
    base = Params(name, incidents, replicas, "postgres", kill_every, seed=seed)
    if quick:
        base = replace(base, people_timeout=60.0, quiet_timeout=120.0, rate=2.0)
    table = {
        "A": base,
        # One process: a kill takes the whole service down until it is back (a start takes
        # seconds on a loaded machine), so it is killed less often than one of three.
        "B": replace(base, replicas=1, store="sqlite", kill_every=6.0 if quick else 8.0),
        "C": replace(base, fault_rate=0.3),
        "D": replace(base, outage_seconds=20.0 if quick else 600.0),
        "E": replace(base, replicas=1, store="cluster", kill_every=None, db_restarts=2),
    }
    return table[name]


@dataclass
class Result:
    params: Params
    tally: Tally | None = None
    kills: int = 0
    db_restarts: int = 0
    crashes: int = 0  # replicas that exited on their own (started again)
    quiet_seconds: float | None = None  # from the end of the disturbance to quiet
    run_seconds: float = 0.0
    webhook_answers: dict[str, int] = field(default_factory=dict)
    faults_injected: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None
    error: str | None = None
    code: str = ""  # the commit the replicas ran, "+edits" when the work tree differed
    # What quiet waits for: the jobs running or due when the disturbance ended, and the
    # jobs finished from then until quiet (those, and the ones they set off).
    backlog_at_calm: int | None = None
    jobs_after_calm: int | None = None


@dataclass(frozen=True)
class _Options:
    """What `World.config_text` reads of the sandbox's options."""

    host: str
    port: int
    policy_path: Path
    vendor_timeout_seconds: float


async def run_scenario(params: Params, workdir: Path, postgres_url: str) -> Result:
    result = Result(params)
    started = time.monotonic()

    def phase(what: str) -> None:
        elapsed = time.monotonic() - started
        print(f"  [{params.scenario} {elapsed:6.1f} s] {what}", file=sys.stderr, flush=True)

    if params.store == "cluster" and cluster_binaries() is None:
        result.skipped = "no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
        return result
    faults: dict[str, RandomFaults] = {}

    def random_faults(vendor: str) -> RandomFaults | None:
        if params.fault_rate <= 0:
            return None
        seed = params.seed * 1000 + zlib.crc32(vendor.encode()) % 1000
        faults[vendor] = RandomFaults(seed=seed, rate=params.fault_rate, late_seconds=3.0)
        return faults[vendor]

    async with AsyncExitStack() as stack:
        world = await start_world(stack, workdir, utc_now(), random_faults)
        store_url = await stack.enter_async_context(_store(params, workdir, postgres_url))
        fleet = Fleet(_replicas(params, world, workdir, store_url), random.Random(params.seed))
        stack.callback(fleet.stop_all)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        fleet.start_all()
        await fleet.wait_all_ready(session)
        phase(f"{params.replicas} replicas ready")
        traffic = Traffic(world, fleet, random.Random(params.seed))
        deliveries = traffic.seed_incidents(params.incidents)
        stop = asyncio.Event()
        chaos = [
            asyncio.create_task(traffic.people(session, stop)),
            asyncio.create_task(fleet.supervise(stop)),
        ]
        if params.kill_every:
            chaos.append(asyncio.create_task(fleet.kill_loop(params.kill_every, stop, session)))
        if params.outage_seconds:
            chaos.append(asyncio.create_task(_outage(world, params.outage_seconds)))
        cluster = _CLUSTERS.get(store_url)
        if cluster is not None and params.db_restarts:
            chaos.append(asyncio.create_task(_db_restarts(cluster, params, stop)))
        await traffic.send_all(session, deliveries, params.rate)
        phase(f"{len(traffic.acknowledged)} deliveries acknowledged, {fleet.kills} kills so far")
        # The people go on until every post-mortem has had its changes (or time is up).
        with suppress(TimeoutError):
            await asyncio.wait_for(chaos[0], timeout=params.people_timeout)
        stop.set()
        await asyncio.gather(*chaos, return_exceptions=True)
        calm_from = time.monotonic()  # the last delivery, change and kill are behind us
        calm_at = utc_now()
        result.backlog_at_calm = await _jobs_to_do(store_url)
        phase(f"people done ({len(traffic.changes)} changes); {fleet.kills} kills in all")
        result.kills = fleet.kills
        fleet.ensure_running()
        result.crashes = fleet.crashes
        await fleet.wait_all_ready(session)
        quiet = await _until_quiet(world, store_url, params.quiet_timeout)
        result.quiet_seconds = None if quiet is None else round(quiet - calm_from, 1)
        phase("quiet" if quiet is not None else "never quiet")
        result.jobs_after_calm = await _jobs_finished_since(store_url, calm_at)
        result.tally = await count(world, traffic, store_url, fleet.replicas[0].config)
        phase("counted")
        result.webhook_answers = dict(sorted(traffic.answers.items()))
        result.db_restarts = cluster.restarts if cluster is not None else 0
        result.faults_injected = {
            vendor: len(f.drawn) for vendor, f in sorted(faults.items()) if f.drawn
        }
    result.run_seconds = round(time.monotonic() - started, 1)
    return result


_CLUSTERS: dict[str, PrivateCluster] = {}


@asynccontextmanager
async def _store(params: Params, workdir: Path, postgres_url: str) -> AsyncIterator[str]:
    if params.store == "sqlite":
        yield f"sqlite+aiosqlite:///{(workdir / 'chaos.db').resolve()}"
    elif params.store == "cluster":
        async with PrivateCluster.running(workdir / "pgdata") as cluster:
            _CLUSTERS[cluster.url] = cluster
            try:
                yield cluster.url
            finally:
                _CLUSTERS.pop(cluster.url, None)
    else:
        async with fresh_postgres(postgres_url) as url:
            yield url


def _replicas(params: Params, world: World, workdir: Path, store_url: str) -> list[Replica]:
    replicas = []
    for n in range(params.replicas):
        port = free_port()
        options = _Options("127.0.0.1", port, POLICY, params.vendor_timeout)
        config = workdir / f"replica-{n}.yaml"
        text_ = world.config_text(store_url, options)
        worker = "  shutdown_grace_seconds: 5\n"
        cap = f"  backoff_max_seconds: {RETRY_CAP_SECONDS:g}\n"
        if worker not in text_ or cap not in text_:
            raise RuntimeError("the demo's worker settings changed: fix RETRY_CAP_SECONDS")
        text_ = text_.replace(worker, f"{worker}  lease_seconds: {LEASE_SECONDS}\n")
        config.write_text(text_)
        replicas.append(Replica(f"replica-{n}", config, port))
    return replicas


async def _outage(world: World, seconds: float) -> None:
    """The vendor answers 503 to everything for `seconds`, then recovers."""
    await asyncio.sleep(2.0)
    world.slack.fail(503, times=None)
    await asyncio.sleep(seconds)
    world.slack.faults.clear()


async def _db_restarts(cluster: PrivateCluster, params: Params, stop: asyncio.Event) -> None:
    for _ in range(params.db_restarts):
        if await stopped(stop, 4.0):
            return
        await cluster.restart(down_seconds=params.db_down_seconds)


async def _until_quiet(world: World, store_url: str, timeout: float) -> float | None:
    """When nothing is left to do: no job running, due, or waiting to be retried (a job
    that failed and waits out its backoff or a Retry-After is work still to do), and the
    fakes unchanged for two seconds. Timers due later (reminders days ahead, never
    failed) do not count."""
    engine = create_engine(store_url)
    deadline = time.monotonic() + timeout
    last_seen, steady_since = -1, time.monotonic()
    next_report = time.monotonic()
    try:
        while time.monotonic() < deadline:
            if time.monotonic() >= next_report:  # what the wait is waiting for, as it goes
                next_report = time.monotonic() + 30.0
                await _show_waiting(engine, world)
            try:
                async with engine.connect() as conn:
                    due = or_(
                        jobs.c.state == "running",
                        and_(jobs.c.state == "pending", jobs.c.run_at <= utc_now()),
                        and_(jobs.c.state == "pending", jobs.c.last_error.is_not(None)),
                    )
                    query = select(func.count()).select_from(jobs).where(due)
                    busy = int((await conn.execute(query)).scalar_one())
            except Exception:  # noqa: BLE001 - the database may be restarting (scenario E)
                busy = 1
            seen = _fake_activity(world)
            if busy or seen != last_seen:
                last_seen, steady_since = seen, time.monotonic()
            elif time.monotonic() - steady_since >= 2.0:
                return steady_since
            await asyncio.sleep(0.5)
        await _show_busy(engine)
        return None
    finally:
        await engine.dispose()


async def _show_busy(engine: AsyncEngine) -> None:
    """Never quiet: say which jobs kept it busy, and why (their last error)."""
    columns = (jobs.c.kind, jobs.c.state, jobs.c.dedupe_key, jobs.c.run_at, jobs.c.last_error)
    with suppress(Exception):  # the database may be down (scenario E)
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(*columns).where(jobs.c.state.in_(("pending", "running")))
            )
            for kind, state, key, run_at, error in rows:
                print(f"  still {state}: {kind} {key} at {run_at}: {error}", flush=True)


async def _jobs_to_do(store_url: str) -> int | None:
    """Jobs running, or pending and due, now."""
    due = or_(
        jobs.c.state == "running", and_(jobs.c.state == "pending", jobs.c.run_at <= utc_now())
    )
    return await _count_jobs(store_url, due)


async def _jobs_finished_since(store_url: str, since: datetime) -> int | None:
    return await _count_jobs(store_url, jobs.c.finished_at >= since)


async def _count_jobs(store_url: str, where: ColumnElement[bool]) -> int | None:
    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(jobs).where(where)
            return int((await conn.execute(query)).scalar_one())
    except Exception:  # noqa: BLE001 - the database may be restarting (scenario E)
        return None
    finally:
        await engine.dispose()


async def _show_waiting(engine: AsyncEngine, world: World) -> None:
    """One line on stderr: the jobs still to do, by kind and state, and the fakes' calls."""
    with suppress(Exception):  # the database may be down (scenario E)
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(
                    jobs.c.kind, jobs.c.state, jobs.c.dedupe_key, jobs.c.run_at, jobs.c.last_error
                ).where(jobs.c.state.in_(("pending", "running")))
            )
            now = utc_now()
            waiting: Counter[str] = Counter()
            for kind, state, key, run_at, error in rows:
                what = kind
                if kind == "effect" and key:
                    what = "effect " + key.split(":")[-1].split("@")[0]
                if state == "pending":
                    when = "due" if run_at <= now else ("retry" if error else "later")
                    what += f" pending/{when}"
                else:
                    what += f" {state}"
                waiting[what] += 1
        busy = {k: n for k, n in waiting.items() if not k.endswith("later")}
        calls = {
            name: len(fake.exchanges)
            for name, fake in (
                ("slack", world.slack),
                ("calendar", world.calendar),
                ("jira", world.jira),
                ("statuspage", world.statuspage),
                ("docs", world.docs),
                ("pagerduty", world.pagerduty),
            )
        }
        # Slack takes one post a second per channel: the busiest channels say how long
        # posting what is queued for them must take at least.
        channels = Counter({c: len(world.slack.posts(c)) for c in list(world.slack.messages)})
        print(
            f"  waiting for quiet: {dict(sorted(busy.items()))}; calls so far {calls};"
            f" Slack posts in the busiest channels {channels.most_common(3)}",
            file=sys.stderr,
            flush=True,
        )


def _fake_activity(world: World) -> int:
    return sum(
        len(fake.exchanges)
        for fake in (
            world.slack,
            world.calendar,
            world.jira,
            world.statuspage,
            world.docs,
            world.github,
            world.pagerduty,
        )
    )
