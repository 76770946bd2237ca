"""The front door's group commit: concurrent deliveries share a commit and say when busy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.inbox import Delivery, count_deliveries
from hub.intake.inbox_writer import InboxWriter

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _delivery(n: int) -> Delivery:
    return Delivery("pagerduty", f"d-{n}", "incident.triggered", {}, b"{}")


async def test_requests_arriving_together_share_a_commit_and_mark_the_door_busy(
    engine: AsyncEngine,
) -> None:
    writer = InboxWriter(engine, lambda: NOW, busy_batch=3)
    writer.start()
    try:
        [alone] = await asyncio.gather(writer.accept(_delivery(0)))
        assert alone.new
        assert not writer.busy(within_seconds=60)  # a batch of one
        together = await asyncio.gather(*(writer.accept(_delivery(n)) for n in range(1, 4)))
        assert [result.new for result in together] == [True, True, True]
        assert writer.busy(within_seconds=60)
        again = await writer.accept(_delivery(2))
        assert (again.new, again.inbox_id) == (False, together[1].inbox_id)
    finally:
        await writer.stop()
    assert await count_deliveries(engine) == 4


async def test_a_caller_that_goes_away_does_not_undo_the_others(engine: AsyncEngine) -> None:
    writer = InboxWriter(engine, lambda: NOW)
    writer.start()
    try:
        leaving = asyncio.ensure_future(writer.accept(_delivery(1)))
        staying = asyncio.ensure_future(writer.accept(_delivery(2)))
        await asyncio.sleep(0)  # both are queued for the same batch
        leaving.cancel()
        assert (await staying).new
    finally:
        await writer.stop()
    # The one that left was stored all the same: its vendor will redeliver, a duplicate.
    assert await count_deliveries(engine) == 2
