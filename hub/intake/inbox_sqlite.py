"""The webhook front door's group commit on a SQLite file: one hand-off per batch.

Same rows as `hub.intake.inbox`'s SQLAlchemy path (PostgreSQL, in-memory SQLite, a
caller's open transaction): the inbox rows and one `ingest` job per new delivery, in
one transaction that commits, and syncs, before anyone is answered.

Why not the engine: aiosqlite runs each call in its thread, and SQLAlchemy's adapter
makes several per statement (cursor, execute, fetch, close), each a round trip
through the event loop. Under a storm the loop is busy with requests, every round
trip waits for its next turn, and the batch's commit (so every request in it) waits
for all of them: measured on the benchmark machine, that pipeline, not the CPU,
capped the front door. Here the whole transaction is ONE call into a thread of its
own, on a `sqlite3` connection of its own: BEGIN IMMEDIATE, one multi-row INSERT ..
RETURNING, one multi-row INSERT of the jobs, COMMIT.

It is the same database file, the same PRAGMAs (`hub.store.db.sqlite_pragmas`), the
same in-process writer lock (urgent first) as every other write, and values are
encoded by the columns' own SQLAlchemy types, so the rows read back exactly as if
the engine had written them. `engine.dispose()` closes this connection too (the next
batch opens a new one), and the driver's errors come out as SQLAlchemy's.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.jobs.kinds import INGEST, ingest_key
from hub.store.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_file, sqlite_pragmas, writer_lock
from hub.store.tables import inbox, jobs

if TYPE_CHECKING:
    from hub.intake.inbox import Delivery

Key = tuple[str, str]  # (source, delivery id)
Stored = tuple[dict[Key, int], dict[Key, int]]  # (created now, stored earlier): inbox ids

# SQLite allows 32766 bound values per statement; 6 per row, so far below it.
_CHUNK = 500
_INSERT_INBOX = (
    "INSERT INTO inbox (source, delivery_id, event_type, headers, body, received_at) VALUES {}"
    " ON CONFLICT (source, delivery_id) DO NOTHING RETURNING id, source, delivery_id"
)
_INBOX_ROW = "(?, ?, ?, ?, ?, ?)"
# The conflict target names the partial unique index of pending jobs (see hub.jobs.queue).
_INSERT_JOBS = (
    "INSERT INTO jobs (kind, payload, dedupe_key, state, run_at, attempts, created_at,"
    " updated_at) VALUES {} ON CONFLICT (dedupe_key) WHERE state = 'pending' DO NOTHING"
)
_JOB_ROW = "(?, ?, ?, 'pending', ?, 0, ?, ?)"
_EXISTING = "SELECT id, source, delivery_id FROM inbox WHERE (source, delivery_id) IN ({})"


class SqliteInbox:
    """The group-commit writer of one SQLite file engine: a thread and its connection."""

    def __init__(self, engine: AsyncEngine, path: str) -> None:
        self._path = path
        dialect = engine.dialect
        self._encode_time = _encoder(inbox.c.received_at, dialect)
        self._encode_json = _encoder(jobs.c.payload, dialect)
        # One thread: the connection is only ever used from it, one batch at a time.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="pmhub-inbox-sqlite")
        self._connection: sqlite3.Connection | None = None
        event.listen(engine.sync_engine, "engine_disposed", self._on_dispose)

    async def store(
        self, engine: AsyncEngine, deliveries: Sequence[Delivery], now: datetime
    ) -> Stored:
        """Store deliveries (unique by key) with their ingest jobs; (created, existing)."""
        at = self._encode_time(now)
        rows = [
            (d.source, d.delivery_id, d.event_type, self._encode_json(dict(d.headers)), d.body, at)
            for d in deliveries
        ]
        loop = asyncio.get_running_loop()
        async with writer_lock(engine).held(urgent=True):
            try:
                return await loop.run_in_executor(self._thread, self._write, rows, at)
            except sqlite3.Error as exc:
                wrapped = DBAPIError.instance(None, None, exc, sqlite3.Error)
                if isinstance(wrapped, BaseException):
                    raise wrapped from exc
                raise

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SqliteInbox | None:
        """The group-commit writer for a SQLite file engine; None for any other store (and
        for an in-memory database, where another connection would be another database).
        Its owner (the application's `InboxWriter`) closes it."""
        if engine.dialect.name != "sqlite":
            return None
        path = sqlite_file(engine)
        return cls(engine, path) if path is not None else None

    def close(self) -> None:
        """Close the connection and end the thread (after any batch in progress)."""
        with contextlib.suppress(RuntimeError):  # the interpreter is shutting down
            self._thread.submit(self._close)
        self._thread.shutdown(wait=True)

    def _on_dispose(self, _engine: Any) -> None:
        # In the thread, after any batch in progress; the next batch connects again.
        with contextlib.suppress(RuntimeError):  # the interpreter is shutting down
            self._thread.submit(self._close)

    # -- in the thread ----------------------------------------------------------------

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
            connection = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            try:
                for pragma in sqlite_pragmas(wal=True):
                    connection.execute(pragma)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _write(self, rows: list[tuple[Any, ...]], at: Any) -> Stored:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            stored = self._insert(connection, rows, at)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return stored

    def _insert(
        self, connection: sqlite3.Connection, rows: list[tuple[Any, ...]], at: Any
    ) -> Stored:
        created: dict[Key, int] = {}
        existing: dict[Key, int] = {}
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            sql = _INSERT_INBOX.format(_values(_INBOX_ROW, len(chunk)))
            found = connection.execute(sql, [value for row in chunk for value in row])
            new = {(source, delivery_id): row_id for row_id, source, delivery_id in found}
            if new:
                params: list[Any] = []
                for (source, delivery_id), inbox_id in new.items():
                    payload = self._encode_json({"inbox_id": inbox_id})
                    params += (INGEST, payload, ingest_key(source, delivery_id), at, at, at)
                connection.execute(_INSERT_JOBS.format(_values(_JOB_ROW, len(new))), params)
            created |= new
            seen = [(row[0], row[1]) for row in chunk if (row[0], row[1]) not in new]
            if seen:
                sql = _EXISTING.format(_values("(?, ?)", len(seen)))
                found = connection.execute(sql, [part for key in seen for part in key])
                existing |= {(source, delivery_id): row_id for row_id, source, delivery_id in found}
        return created, existing


def _encoder(column: Any, dialect: Any) -> Callable[[Any], Any]:
    """The column type's own encoder for this dialect (time as SQLite text, JSON text)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        raise TypeError(f"{column} has no encoder on {dialect.name}")
    return process  # type: ignore[no-any-return]


def _values(template: str, count: int) -> str:
    return ", ".join([template] * count)
