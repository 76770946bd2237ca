"""Group commit for the webhook front door.

Every acknowledged delivery must be durable first, and a transaction per delivery
makes the database's commit the ceiling of an incident storm (SQLite serialises
writers; each commit is a round trip and a sync). Requests therefore hand their
delivery to one writer task, which stores everything that arrived meanwhile in a
single transaction and then answers each waiting request. Under light load a batch
is one delivery and nothing waits; under a storm, batches grow by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.inbox import AcceptResult, Delivery, accept_deliveries
from hub.intake.inbox_sqlite import SqliteInbox

log = structlog.get_logger("pmhub.intake")
_Item = tuple[Delivery, "asyncio.Future[AcceptResult]"]


class InboxWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime],
        *,
        max_batch: int = 256,
        busy_batch: int = 2,
    ) -> None:
        self._engine, self._clock, self._max_batch = engine, clock, max_batch
        self._busy_batch = busy_batch
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._last_busy = -1e9  # monotonic time of the last batch of `busy_batch` or more
        # On a SQLite file the batch goes through a thread and connection of its own;
        # this writer owns them and closes them when it stops.
        self._sqlite = SqliteInbox.for_engine(engine)

    def busy(self, within_seconds: float = 1.0) -> bool:
        """Whether requests have been piling up behind the commits lately.

        Deliveries waiting for the commit in progress (a batch of `busy_batch` or
        more) mean a commit, or the event loop, is slower than the requests come:
        the moment for the worker to step back.
        """
        return time.monotonic() - self._last_busy < within_seconds

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pmhub-inbox-writer")

    async def stop(self) -> None:
        """Store what is queued, then end (the server has stopped taking requests)."""
        if self._task is None:
            self._close_sqlite()
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self._close_sqlite()

    def _close_sqlite(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    async def accept(self, delivery: Delivery) -> AcceptResult:
        """Durably store one delivery (with its ingest job); raises what the store raised."""
        if self._task is None or self._task.done():
            raise RuntimeError("the inbox writer is not running")
        future: asyncio.Future[AcceptResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((delivery, future))
        # A caller that goes away (client timeout) cancels only its own future: the
        # batch is written for the others all the same (the writer skips done futures).
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            if len(batch) >= self._busy_batch:
                self._last_busy = time.monotonic()
            await self._write(batch)
        # Requests still queued behind the stop marker (none once the server stopped).
        rest = [item for item in _drain(self._queue) if item is not None]
        if rest:
            await self._write(rest)

    async def _write(self, batch: list[_Item]) -> None:
        try:
            results = await accept_deliveries(
                self._engine,
                [delivery for delivery, _ in batch],
                now=self._clock(),
                sqlite=self._sqlite,
            )
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _drain(queue: asyncio.Queue[_Item | None]) -> list[_Item | None]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
