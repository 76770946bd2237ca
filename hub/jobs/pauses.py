"""Connector pauses: refused credentials stop a connector's jobs, on every replica.

An `AuthFailed` says the connector's credentials were refused. Retrying that job, or
running the connector's other jobs, cannot succeed until a person fixes them, and dead-
lettering them all would turn one expired token into a pile of dead letters. So the
connector is *paused*: a row in `connector_pauses` (the store, so every replica sees
it). While paused, the connector's jobs are deferred to the pause's `probe_at` without
running and without starting their retry horizon. At `probe_at` the first of them runs
as the probe: success resumes the connector (the row goes, the waiting jobs come due
at once); another `AuthFailed` pushes `probe_at` out again. A person can also resume
it (`pmhub jobs resume-connector NAME`) once the credentials are fixed.

The operations channel hears of a pause once: only the replica whose insert created
the row tells it (`JobAlerts.connector_paused`); likewise for the resume.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.jobs.alerts import JobAlerts
from hub.jobs.kinds import INGEST
from hub.jobs.model import Job, JobState
from hub.store.db import dialect_insert, reading, transaction
from hub.store.tables import connector_pauses, jobs

log = structlog.get_logger(__name__)

_DEFERRED = "paused: connector {}: "  # the last_error prefix of a job waiting on a pause


@dataclass(frozen=True)
class Pause:
    connector: str
    reason: str
    paused_at: datetime
    probe_at: datetime


def connector_of(job: Job) -> str:
    """The connector a job depends on: an effect names it; an ingest job its source
    (whose API enriches the delivery); any other job its kind, as the closest name."""
    named = job.payload.get("connector")
    if isinstance(named, str):
        return named
    if job.kind == INGEST and job.dedupe_key:
        parts = job.dedupe_key.split(":", 2)  # ingest:<source>:<delivery id>
        if len(parts) == len(("ingest", "source", "id")):
            return parts[1]
    return job.kind


def deferred_error(connector: str, reason: str) -> str:
    return _DEFERRED.format(connector) + reason


async def pause(
    engine: AsyncEngine, connector: str, reason: str, *, now: datetime, probe_at: datetime
) -> bool:
    """Pause (or keep paused until `probe_at`) a connector; True when this paused it."""
    async with transaction(engine) as conn:
        inserted = await conn.execute(
            dialect_insert(conn, connector_pauses)
            .values(connector=connector, reason=reason, paused_at=now, probe_at=probe_at)
            .on_conflict_do_nothing(index_elements=[connector_pauses.c.connector])
            .returning(connector_pauses.c.connector)
        )
        if inserted.first() is not None:
            return True
        await conn.execute(
            update(connector_pauses)
            .where(connector_pauses.c.connector == connector)
            .values(reason=reason, probe_at=probe_at)
        )
        return False


async def resume(engine: AsyncEngine, connector: str, *, now: datetime) -> bool:
    """Lift a pause and bring the jobs waiting on it forward; True when it was paused."""
    async with transaction(engine) as conn:
        removed = await conn.execute(
            delete(connector_pauses)
            .where(connector_pauses.c.connector == connector)
            .returning(connector_pauses.c.connector)
        )
        if removed.first() is None:
            return False
        prefix = _DEFERRED.format(connector).replace("%", r"\%").replace("_", r"\_")
        await conn.execute(
            update(jobs)
            .where(
                jobs.c.state == JobState.PENDING.value,
                jobs.c.run_at > now,
                jobs.c.last_error.like(prefix + "%", escape="\\"),
            )
            .values(run_at=now, updated_at=now)
        )
        return True


async def list_pauses(engine: AsyncEngine) -> list[Pause]:
    async with reading(engine) as conn:
        rows = await conn.execute(select(connector_pauses).order_by(connector_pauses.c.connector))
        return [Pause(**row._mapping) for row in rows]


class PauseBoard:
    """The worker's view of the pauses: read from the store at most every `ttl` seconds,
    and the one place that pauses, resumes and tells the operations channel."""

    def __init__(
        self,
        engine: AsyncEngine,
        alerts: JobAlerts,
        *,
        ttl_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self.alerts = alerts
        self._ttl = ttl_seconds
        self._clock = clock
        self._pauses: dict[str, Pause] = {}
        self._read_at = -1e9

    async def current(self, connector: str) -> Pause | None:
        """The pause that holds `connector`'s jobs back now, if any (None at probe time)."""
        if time.monotonic() - self._read_at > self._ttl or connector in self._pauses:
            # Read again before holding a job back: a resume on another replica (or the
            # CLI) must not be met by a stale copy that defers the job to the next probe.
            try:
                self._pauses = {p.connector: p for p in await list_pauses(self._engine)}
            except Exception:  # the store hiccupped: run the job; AuthFailed pauses again
                log.warning("connector.pauses_unreadable", exc_info=True)
                return None
            self._read_at = time.monotonic()
        found = self._pauses.get(connector)
        return found if found is not None and found.probe_at > self._clock() else None

    async def auth_failed(self, connector: str, reason: str, probe_at: datetime) -> None:
        now = self._clock()
        self._pauses[connector] = Pause(connector, reason, now, probe_at)
        try:
            paused = await pause(self._engine, connector, reason, now=now, probe_at=probe_at)
        except Exception:  # this job still waits; the connector's next refusal pauses it
            log.warning("connector.pause_failed", connector=connector, exc_info=True)
            return
        if paused:
            self.alerts.connector_paused(connector, reason, probe_at)

    async def succeeded(self, jobs: Sequence[Job]) -> None:
        """Jobs succeeded: for a connector that was paused, that was its probe: resume it."""
        for connector in {connector_of(job) for job in jobs} & set(self._pauses):
            del self._pauses[connector]
            try:
                resumed = await resume(self._engine, connector, now=self._clock())
            except Exception:  # the pause stays; the connector's next success tries again
                log.warning("connector.resume_failed", connector=connector, exc_info=True)
                continue
            if resumed:
                self.alerts.connector_resumed(connector, by="a successful probe")
