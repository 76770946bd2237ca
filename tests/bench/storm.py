"""`storm`: N incidents at once (triggered → acknowledged → resolved, all sent within a
window of 20 s), and how long until every owner DM, meeting and announcement is done.

It is compared to its floor: the busiest Slack channel's posts at one a second (the
incidents channel's announcements and review requests; the owner's DMs, all to one
person here), which no pacing can beat, the calendar having no such limit. Also
counted, from outside: the vendors' 429s (the fakes enforce the published limits),
PagerDuty REST reads per incident, the replicas' CPU per incident (/proc), their RSS
idle, after and at the peak, and the database's growth per incident. Every effect is
counted on the fakes once the run is quiet: one done twice, or one missing, fails it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.demo.world import INCIDENTS_CHANNEL
from hub.runtime import utc_now
from tests.bench.fleet_bench import (
    OUTCOMES,
    Bench,
    Setup,
    add_incident,
    cpu_seconds,
    database_bytes,
    deliver,
    outcomes,
    pagerduty_reads,
    rss_mb,
    running,
    vendor_429s,
)
from tests.reliability.chaos.scenario import _until_quiet
from tests.reliability.chaos.tally import count
from tests.reliability.chaos.traffic import Delivery

WINDOW_SECONDS, QUICK_WINDOW_SECONDS = 20.0, 5.0
SAMPLE_SECONDS = 0.5


@dataclass
class StormResult:
    label: str
    store: str
    replicas: int
    incidents: int
    window_seconds: float
    done_seconds: float | None = None  # first send -> every incident's outcomes visible
    outcome_p50: dict[str, float | None] = field(default_factory=dict)
    channel_posts: dict[str, int] = field(default_factory=dict)  # busiest channels
    floor_seconds: float = 0.0  # the busiest channel's posts at 1/s
    dm_floor_seconds: float = 0.0  # the owner DMs of the busiest DM channel at 1/s
    vendor_429s: dict[str, int] = field(default_factory=dict)
    pagerduty_reads_per_incident: float = 0.0
    cpu_ms_per_incident: float = 0.0
    rss_idle_mb: float = 0.0  # largest replica, before the storm
    rss_after_mb: float = 0.0  # largest replica, once quiet
    rss_peak_mb: float = 0.0  # largest replica's high-water mark
    db_bytes_per_incident: float = 0.0
    quiet_seconds: float | None = None
    duplicates: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None

    @property
    def floor_ratio(self) -> float | None:
        if self.done_seconds is None or not self.floor_seconds:
            return None
        return self.done_seconds / self.floor_seconds

    @property
    def dm_floor_ratio(self) -> float | None:
        if self.done_seconds is None or not self.dm_floor_seconds:
            return None
        return self.done_seconds / self.dm_floor_seconds

    @property
    def failed(self) -> bool:
        return bool(self.duplicates or self.missing)


def setups(quick: bool, postgres: bool) -> list[Setup]:
    """SQLite, PostgreSQL and PostgreSQL x 3; CI's size: SQLite only."""
    if quick or not postgres:
        return [Setup("sqlite")]
    return [Setup("sqlite"), Setup("postgres"), Setup("postgres", replicas=3)]


async def run_storm(
    setup: Setup, incidents: int, workdir: Path, postgres_url: str, *, window: float, timeout: float
) -> StormResult:
    result = StormResult(setup.label, setup.store, setup.replicas, incidents, window)
    async with running(setup, workdir, postgres_url) as bench:
        pids = bench.pids()
        result.rss_idle_mb = max(rss_mb(pid)[0] for pid in pids)
        cpu_before, reads_before = cpu_seconds(pids), pagerduty_reads(bench.world)
        size_before = await database_bytes(bench.store_url)
        schedule = _schedule(bench, incidents, window)
        started = time.monotonic()
        sending = asyncio.create_task(_send(bench, schedule, started))
        done_at = await _until_done(bench, incidents, started, timeout, result)
        await sending
        result.done_seconds = None if done_at is None else round(done_at - started, 1)
        calm = time.monotonic()
        quiet = await _until_quiet(bench.world, bench.store_url, timeout)
        result.quiet_seconds = None if quiet is None else round(quiet - calm, 1)
        result.cpu_ms_per_incident = (cpu_seconds(pids) - cpu_before) * 1000 / incidents
        reads = pagerduty_reads(bench.world) - reads_before
        result.pagerduty_reads_per_incident = reads / incidents
        result.rss_after_mb = max(rss_mb(pid)[0] for pid in pids)
        result.rss_peak_mb = max(rss_mb(pid)[1] for pid in pids)
        size_after = await database_bytes(bench.store_url)
        result.db_bytes_per_incident = (size_after - size_before) / incidents
        result.vendor_429s = vendor_429s(bench.world)
        _floor(bench, result)
        await _count(bench, result)
    return result


def _schedule(bench: Bench, incidents: int, window: float) -> list[tuple[float, Delivery]]:
    """(seconds after the start, delivery): incident i triggers at i/N of the window's
    first part, is acknowledged a second later and resolved a second after that."""
    now = utc_now()
    spread = max(window - 2.0, 0.0)
    schedule = []
    for n in range(incidents):
        deliveries = add_incident(bench, n, now)
        bench.traffic.incidents.append(deliveries["incident.resolved"].incident)
        at = spread * n / incidents
        for offset, event_type in enumerate(
            ("incident.triggered", "incident.acknowledged", "incident.resolved")
        ):
            schedule.append((at + offset, deliveries[event_type]))
    return sorted(schedule, key=lambda item: item[0])


async def _send(bench: Bench, schedule: list[tuple[float, Delivery]], started: float) -> None:
    sending = []
    for at, delivery in schedule:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        sending.append(asyncio.create_task(deliver(bench, delivery)))
    await asyncio.gather(*sending)


async def _until_done(
    bench: Bench, incidents: int, started: float, timeout: float, result: StormResult
) -> float | None:
    """When every incident's owner DM, announcement and meeting is visible (None: never)."""
    first_seen: dict[str, dict[str, float]] = {}
    deadline = started + timeout
    done_at = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        for pd_id, seen in outcomes(bench.world).items():
            for what in seen:
                first_seen.setdefault(pd_id, {}).setdefault(what, now - started)
        complete = [s for s in first_seen.values() if len(s) == len(OUTCOMES)]
        if len(complete) >= incidents:
            done_at = now
            break
        await asyncio.sleep(SAMPLE_SECONDS)
    for what in OUTCOMES:
        times = sorted(s[what] for s in first_seen.values() if what in s)
        result.outcome_p50[what] = round(times[len(times) // 2], 1) if times else None
    return done_at


def _floor(bench: Bench, result: StormResult) -> None:
    """The busiest channel's posts at one a second: no pacing finishes sooner."""
    posts = Counter(
        {channel: len(bench.world.slack.posts(channel)) for channel in bench.world.slack.messages}
    )
    named = {INCIDENTS_CHANNEL: "incidents channel"}
    for user, channel in bench.world.slack.dms.items():
        named[channel] = f"DM {user}"
    result.channel_posts = {named.get(c, c): n for c, n in posts.most_common(3) if n}
    interval = bench.world.slack.min_post_interval
    result.floor_seconds = max(posts.values(), default=0) * interval
    # The owner DMs alone (issue 16's "the time the DMs and calendar alone need"): other
    # messages to the same person are pmhub's choice, not a floor.
    owner_dms = Counter(
        channel
        for channel in bench.world.slack.messages
        for message in bench.world.slack.posts(channel)
        if ":owner:notify:" in _effect_key(message)
    )
    result.dm_floor_seconds = max(owner_dms.values(), default=0) * interval


def _effect_key(message: dict[str, Any]) -> str:
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    return str(payload.get("effect_key") or "")


async def _count(bench: Bench, result: StormResult) -> None:
    tally = await count(bench.world, bench.traffic, bench.store_url, bench.fleet.replicas[0].config)
    result.duplicates = tally.duplicates
    result.missing = [*tally.missing, *(f"delivery {d} lost" for d in tally.lost)]
    seen = outcomes(bench.world)
    for pd_id in bench.traffic.incidents:
        for what in OUTCOMES:
            if what not in seen.get(pd_id, set()):
                result.missing.append(f"{pd_id}: no {what}")
