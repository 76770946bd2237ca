"""PostgreSQL LISTEN/NOTIFY wake-ups between replicas.

A job enqueued by one replica NOTIFYs `pmhub_jobs` inside its transaction, so
the notification is delivered only once the job is visible. Every replica keeps
one dedicated asyncpg connection LISTENing and turns notifications into a local
wake-up. It is only a hint: workers still poll, so a lost connection or a
missed notification delays work by at most one poll interval, never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from sqlalchemy.engine import URL

from hub.store.db import asyncpg_dsn

NOTIFY_CHANNEL = "pmhub_jobs"
RECONNECT_DELAY_SECONDS = 2.0

log = structlog.get_logger(__name__)


class Listener:
    """Keeps a LISTEN connection open (reconnecting) and calls `on_notify` per message."""

    def __init__(self, url: URL, on_notify: Callable[[], None]) -> None:
        self._dsn = asyncpg_dsn(url)
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while LISTEN is active (tests wait on it)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pmhub-job-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("jobs.listener_disconnected", error=str(exc))
            self.listening.clear()
            # Work that arrived while we were deaf is found by the next lease.
            self._on_notify()
            await asyncio.sleep(RECONNECT_DELAY_SECONDS)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        closed = asyncio.get_running_loop().create_future()

        def on_message(_conn: Any, _pid: int, _channel: str, _payload: str) -> None:
            self._on_notify()

        def on_close(_conn: Any) -> None:
            if not closed.done():
                closed.set_result(None)

        connection.add_termination_listener(on_close)
        try:
            await connection.add_listener(NOTIFY_CHANNEL, on_message)
            self.listening.set()
            await closed
        finally:
            self.listening.clear()
            if not connection.is_closed():
                await connection.close(timeout=2)
