"""Effect jobs by the connector that carries them out (issue 15), for /metrics.

The job kinds are ingest, reconcile and effect; which vendor an effect job is for is
in its payload (`connector`, written by the reconciler from the wiring), so a dead
letter says which vendor failed.
"""

from __future__ import annotations

from sqlalchemy import func, select

from hub.jobs.kinds import EFFECT
from hub.jobs.model import JobState
from hub.store.db import Bind, reading
from hub.store.tables import jobs

UNKNOWN_CONNECTOR = "none"  # an effect no connector carries out, or a job from before


async def effect_jobs_by_connector(bind: Bind, state: JobState) -> dict[str, int]:
    """Effect jobs in `state`, counted per connector."""
    connector = jobs.c.payload["connector"].as_string()
    query = (
        select(connector, func.count())
        .where(jobs.c.kind == EFFECT, jobs.c.state == state.value)
        .group_by(connector)
    )
    async with reading(bind) as conn:
        rows = await conn.execute(query)
        counts: dict[str, int] = {}
        for name, count in rows:
            key = name or UNKNOWN_CONNECTOR
            counts[key] = counts.get(key, 0) + int(count)
        return counts
