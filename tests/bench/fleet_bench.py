"""What the end-to-end benchmarks share: the vendor fakes with the vendors' limits on,
`pmhub serve` replicas on one store, PagerDuty deliveries, and reading the processes
and the fakes from outside.

The replicas and the traffic are the chaos run's (`tests.reliability.chaos`): real
processes, signed V3 deliveries retried until answered 2xx, each request to a random
replica (a load balancer's choice). Nothing is killed here.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from connectors.common.ratelimits import jira_limits, slack_limits
from hub.demo.driver import pagerduty_event, z
from hub.demo.world import ALICE, ESCALATION_POLICY, World, start_world
from hub.runtime import utc_now
from tests.bench.run import Store, fresh_postgres
from tests.reliability.chaos.fleet import Fleet, Replica, free_port
from tests.reliability.chaos.tally import vendor_records
from tests.reliability.chaos.traffic import Delivery, Traffic, incident_id

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
INCIDENT = re.compile(r"QCHAOS\d{5}")
SLACK_POST_INTERVAL = 1.0  # chat.postMessage: one message a second per channel
STATUSPAGE_INTERVAL = 1.0  # Statuspage: one request a second per API key
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Setup:
    store: str  # "sqlite" or "postgres"
    replicas: int = 1
    vendor_latency: float = 0.0  # seconds every fake waits before answering

    @property
    def label(self) -> str:
        name = "SQLite" if self.store == "sqlite" else "PostgreSQL"
        if self.replicas > 1:
            name += f" x {self.replicas}"
        if self.vendor_latency:
            name += f", vendors +{self.vendor_latency * 1000:.0f} ms"
        return name


@dataclass(frozen=True)
class _Options:
    """What `World.config_text` reads of the sandbox's options."""

    host: str
    port: int
    policy_path: Path
    vendor_timeout_seconds: float


@dataclass
class Bench:
    setup: Setup
    world: World
    fleet: Fleet
    store_url: str
    session: aiohttp.ClientSession
    traffic: Traffic
    times: dict[str, str] = field(default_factory=dict)  # delivery id -> when it happened

    @property
    def store(self) -> Store:
        return Store(self.store_url)

    def pids(self) -> list[int]:
        return [r.process.pid for r in self.fleet.replicas if r.process is not None]


def enforce_vendor_limits(world: World, latency: float) -> None:
    """The vendors' published limits, on every fake that has one, and the latency knob."""
    world.slack.min_post_interval = SLACK_POST_INTERVAL
    world.slack.limits = slack_limits()
    world.statuspage.min_interval = STATUSPAGE_INTERVAL
    world.jira.limits = jira_limits()
    for fake in (world.slack, world.calendar, world.jira, world.statuspage, world.docs):
        fake.latency = latency
    world.pagerduty.latency = latency
    world.github.latency = latency


@asynccontextmanager
async def running(setup: Setup, workdir: Path, postgres_url: str) -> AsyncIterator[Bench]:
    """The fakes, a fresh store and the replicas, ready; everything stopped afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        world = await start_world(stack, workdir, utc_now())
        enforce_vendor_limits(world, setup.vendor_latency)
        if setup.store == "sqlite":
            store_url = f"sqlite+aiosqlite:///{(workdir / 'bench.db').resolve()}"
        else:
            store_url = await stack.enter_async_context(fresh_postgres(postgres_url))
        replicas = []
        for n in range(setup.replicas):
            port = free_port()
            config = workdir / f"replica-{n}.yaml"
            config.write_text(world.config_text(store_url, _Options("127.0.0.1", port, POLICY, 5)))
            replicas.append(Replica(f"replica-{n}", config, port))
        fleet = Fleet(replicas, random.Random(1))
        stack.callback(fleet.stop_all)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        fleet.start_all()
        await fleet.wait_all_ready(session)
        traffic = Traffic(world, fleet, random.Random(1))
        yield Bench(setup, world, fleet, store_url, session, traffic)


def add_incident(bench: Bench, n: int, now: datetime) -> dict[str, Delivery]:
    """An incident in the PagerDuty fake (triggered) and its three deliveries, by type."""
    world = bench.world
    created = now - timedelta(minutes=45)
    acked, resolved = created + timedelta(minutes=4), created + timedelta(minutes=40)
    pd_id = incident_id(n)
    incident = world.pagerduty.add_incident(
        pd_id,
        number=5000 + n,
        title=f"Bench incident {n}: checkout 5xx",
        status="triggered",
        created_at=z(created),
        priority="P1",
        service=("PCHKAPI", "Checkout API"),
        escalation_policy=(ESCALATION_POLICY, "Checkout on-call"),
        assignees=[(ALICE.pagerduty_id, z(created))],
        acknowledgers=[(ALICE.pagerduty_id, z(acked))],
    )
    deliveries = {}
    for event_type, at in (
        ("incident.triggered", created),
        ("incident.acknowledged", acked),
        ("incident.resolved", resolved),
    ):
        event = pagerduty_event(event_type, incident, at)
        event["event"]["data"]["status"] = event_type.removeprefix("incident.")
        delivery_id = f"bench-{pd_id}-{event_type}"
        deliveries[event_type] = Delivery(delivery_id, pd_id, json.dumps(event).encode())
        bench.times[delivery_id] = z(at)
    return deliveries


async def deliver(bench: Bench, delivery: Delivery) -> None:
    """Send one delivery, PagerDuty's incident first moved to the state it announces (a
    read of the incident while it is sent sees what PagerDuty would show)."""
    incident = bench.world.pagerduty.incidents[delivery.incident]
    event_type = delivery.delivery_id.rsplit("-", 1)[1]
    at = bench.times[delivery.delivery_id]
    status = event_type.removeprefix("incident.")
    if _STATUS_ORDER.index(status) > _STATUS_ORDER.index(incident["status"]):
        incident.update(status=status, updated_at=at, last_status_change_at=at)
        if status == "resolved":
            incident["resolved_at"] = at
            incident["alert_counts"] = {"all": 1, "triggered": 0, "resolved": 1}
    await bench.traffic.deliver(bench.session, delivery)


_STATUS_ORDER = ("triggered", "acknowledged", "resolved")


# -- what the fakes show -------------------------------------------------------------------

OUTCOMES = ("owner DM", "announcement", "meeting")
ROLLUP_MARKER = "rollup:"  # the effect key of a roll-up message (hub.store.rollups)


def outcomes(world: World) -> dict[str, set[str]]:
    """incident -> which of the outcomes a team feels are visible at the vendors now.

    Told apart by their effect keys (the owner's DM is `…:owner:notify:…`, the
    announcement `…:owner:announce`): other messages to the same person or channel, such
    as a role left unresolved, are not what is measured."""
    seen: dict[str, set[str]] = {}
    for vendor, marker, record in vendor_records(world):
        if vendor == "slack" and marker.startswith(ROLLUP_MARKER):
            # A storm's roll-up: each line is one post-mortem's announcement.
            for incident in INCIDENT.findall(json.dumps(record)):
                seen.setdefault(incident, set()).add("announcement")
            continue
        match = INCIDENT.search(marker) or INCIDENT.search(json.dumps(record))
        if match is None:
            continue
        what = None
        if vendor == "calendar":
            what = "meeting"
        elif vendor == "slack" and ":owner:announce " in marker:
            what = "announcement"
        elif vendor == "slack" and ":owner:notify:" in marker:
            what = "owner DM"
        if what is not None:
            seen.setdefault(match.group(0), set()).add(what)
    return seen


def slack_429s(world: World) -> int:
    tiers = world.slack.limits.total_refused if world.slack.limits else 0
    return sum(world.slack.rate_limited.values()) + tiers


def vendor_429s(world: World) -> dict[str, int]:
    """Rate-limit refusals each fake gave (Statuspage answers 420 by default)."""
    statuspage = sum(1 for e in world.statuspage.exchanges if e.status in (420, 429))
    jira = world.jira.limits.total_refused if world.jira.limits else 0
    return {"slack": slack_429s(world), "statuspage": statuspage, "jira": jira}


def pagerduty_reads(world: World) -> int:
    return sum(1 for e in world.pagerduty.exchanges if e.method == "GET")


# -- the processes, from /proc ---------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes so far (utime and stime, /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLOCK_TICKS


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of one process in MB (VmRSS, VmHWM)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    return int(values.get("VmRSS", 0)) / 1024, int(values.get("VmHWM", 0)) / 1024


async def database_bytes(store_url: str) -> int:
    """The store's size: SQLite's pages (its WAL's committed ones included: the WAL file
    itself only grows until a checkpoint), or pg_database_size."""
    store = Store(store_url)
    if store_url.startswith("sqlite"):
        pages = await store.rows("PRAGMA page_count")
        page_size = await store.rows("PRAGMA page_size")
        return int(pages[0][0]) * int(page_size[0][0])
    rows = await store.rows("SELECT pg_database_size(current_database())")
    return int(rows[0][0])


def monotonic() -> float:
    return time.monotonic()
