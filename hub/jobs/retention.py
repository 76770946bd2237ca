"""The retention timer: a `retention` job that removes what is past its horizon, then
queues its next run (`hub.store.retention` says what is removed and what never is).

One pending run exists at a time (`RETENTION_KEY`), whichever replica queued it and
however many replicas start; the run queues the next one first, so a failed run
never stops retention. Each run reports the rows it removed (`on_removed`, the
application's metrics) and logs one summary line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.jobs.enqueue import enqueue_job
from hub.jobs.kinds import RETENTION, RETENTION_KEY
from hub.jobs.model import Job
from hub.store.db import transaction
from hub.store.retention import Horizons, Removed, apply_retention

log = structlog.get_logger("pmhub.retention")


class RetentionRunner:
    """The `retention` job's handler, and the scheduler of its first run."""

    def __init__(
        self,
        engine: AsyncEngine,
        horizons: Horizons,
        *,
        every: timedelta,
        batch_size: int,
        clock: Callable[[], datetime],
        on_removed: Callable[[Removed], None] | None = None,
    ) -> None:
        self.engine = engine
        self.horizons = horizons
        self.every = every
        self.batch_size = batch_size
        self._clock = clock
        self._on_removed = on_removed

    async def schedule(self) -> None:
        """Queue the next run, `every` from now (an earlier pending run wins)."""
        now = self._clock()
        async with transaction(self.engine) as conn:
            await enqueue_job(
                conn, RETENTION, {}, dedupe_key=RETENTION_KEY, run_at=now + self.every, now=now
            )

    async def __call__(self, job: Job) -> None:
        await self.schedule()
        removed = await apply_retention(
            self.engine, self.horizons, now=self._clock(), batch_size=self.batch_size
        )
        if self._on_removed is not None:
            self._on_removed(removed)
        log.info("retention.done", **removed.as_dict())
