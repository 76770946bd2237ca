"""The job kinds the daemon runs, by name.

`ingest` turns one stored delivery into canonical facts. Until the intake issue lands
its adapters, the handler only marks the delivery seen: the delivery is durable in the
inbox, so nothing is lost, and replaying the inbox later through the real adapters
brings every incident up to date.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.engine.worker import JobHandler
from hub.errors import Permanent
from hub.store.inbox import get_delivery, mark_processed
from hub.store.jobs import Job

log = structlog.get_logger("pmhub.ingest")


def core_handlers(engine: AsyncEngine) -> Mapping[str, JobHandler]:
    async def ingest(job: Job) -> None:
        inbox_id = job.payload.get("inbox_id")
        if not isinstance(inbox_id, int):
            raise Permanent(f"ingest job without an integer inbox_id: {job.payload!r}")
        delivery = await get_delivery(engine, inbox_id)
        if delivery is None:
            raise Permanent(f"inbox row {inbox_id} does not exist")
        # Placeholder until normalisation lands (intake issue): record that it was seen.
        log.info("ingest.stored_only", source=delivery.source, event_type=delivery.event_type)
        await mark_processed(engine, inbox_id)

    return {"ingest": ingest}
