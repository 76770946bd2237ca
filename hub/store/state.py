"""The write side of incidents and post-mortems: typed load and save.

An incident is stored as its `IncidentRecord` (the facts with their clocks); the
`Incident` everyone reads is derived from it. A post-mortem is stored as the
`PostMortem` model. Both are read and written inside the caller's transaction
(`bind` may be an open connection), so the ingest job can merge and enqueue the
follow-up reconcile atomically, and the reconciler can hold a row while deciding.

Every read-modify-write of an incident or its post-mortem holds the incident's lock
(`lock_incident`: the incident row `FOR UPDATE` on PostgreSQL; SQLite's write
transactions are exclusive anyway) from before its read to its commit. A save on an
open connection that does not hold that lock is refused (`UnlockedWrite`): under READ
COMMITTED such a save would write a stale document over a change committed since its
read, which is how a person's answered transition once vanished (issue 12, defect 1).
A save given an engine is a blind write in its own transaction and takes the lock
itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.model.incident_record import IncidentRecord
from hub.model.postmortem import PostMortem
from hub.store.db import Bind, dialect_insert, is_postgres, reading, transaction, utcnow
from hub.store.tables import incidents, postmortems

# Where a connection remembers the incidents its current transaction has locked.
_LOCKS_HELD = "pmhub_incident_locks"


class UnlockedWrite(RuntimeError):
    """A save of an incident or post-mortem by a transaction that did not lock it first."""


@dataclass
class _HeldLocks:
    """The incidents one transaction has locked. Kept in the connection's info, which
    belongs to the pooled connection and outlives the transaction: the entry counts only
    while `transaction` (held here, so its identity cannot be reused) is the current one."""

    transaction: object
    incident_ids: set[str] = field(default_factory=set)


def _current_transaction(conn: AsyncConnection) -> object | None:
    return conn.sync_connection.get_transaction() if conn.sync_connection else None


def _remember_locked(conn: AsyncConnection, incident_ids: Sequence[str]) -> None:
    current = _current_transaction(conn)
    held = conn.info.get(_LOCKS_HELD)
    if not isinstance(held, _HeldLocks) or held.transaction is not current:
        held = conn.info[_LOCKS_HELD] = _HeldLocks(current)
    held.incident_ids.update(incident_ids)


def holds_lock(conn: AsyncConnection, incident_id: str) -> bool:
    """Whether this connection's current transaction has locked the incident."""
    held = conn.info.get(_LOCKS_HELD)
    current = _current_transaction(conn)
    return (
        isinstance(held, _HeldLocks)
        and current is not None
        and held.transaction is current
        and incident_id in held.incident_ids
    )


def _require_lock(conn: AsyncConnection, incident_id: str, what: str) -> None:
    if not holds_lock(conn, incident_id):
        raise UnlockedWrite(
            f"{what} of {incident_id} in a transaction that did not lock it first "
            "(lock_incident): a change committed since the read would be lost"
        )


def postmortem_id(incident_id: str) -> str:
    """One post-mortem per incident; its id names the incident it belongs to."""
    return f"pm:{incident_id}"


async def load_incident(bind: Bind, incident_id: str) -> IncidentRecord | None:
    async with reading(bind) as conn:
        row = (
            await conn.execute(select(incidents.c.data).where(incidents.c.id == incident_id))
        ).one_or_none()
    return IncidentRecord.from_json(row.data) if row is not None and row.data else None


async def list_open_postmortems(bind: Bind) -> list[PostMortem]:
    """Post-mortems not yet closed (what a tracker's update may concern)."""
    async with reading(bind) as conn:
        rows = await conn.execute(
            select(postmortems.c.data).where(postmortems.c.status != "closed")
        )
        return [PostMortem.from_stored(row.data) for row in rows]


async def lock_incident(
    conn: AsyncConnection, source: str, source_id: str, *, now: datetime
) -> IncidentRecord | None:
    """The stored record, locked for this transaction (None when new).

    Two ingest jobs of one incident on two replicas must not both read, merge and
    write: the second would drop the first one's facts. PostgreSQL locks the row
    (`FOR UPDATE`); a first delivery inserts a placeholder row first so there is a
    row to lock. SQLite's write transactions are already exclusive (BEGIN IMMEDIATE).
    """
    key = f"{source}:{source_id}"
    _remember_locked(conn, [key])
    if is_postgres(conn):
        placeholder = dialect_insert(conn, incidents).values(
            id=key,
            source=source,
            source_id=source_id,
            data={},
            created_at=now,
            updated_at=now,
        )
        await conn.execute(placeholder.on_conflict_do_nothing(index_elements=["id"]))
    query = select(incidents.c.data).where(incidents.c.id == key)
    if is_postgres(conn):
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    if row is None or not row.data:
        return None
    return IncidentRecord.from_json(row.data)


async def lock_incident_id(
    conn: AsyncConnection, incident_id: str, *, now: datetime
) -> IncidentRecord | None:
    """`lock_incident` by the incident's id (`<source>:<source id>`)."""
    source, _, source_id = incident_id.partition(":")
    return await lock_incident(conn, source, source_id, now=now)


async def save_incident(bind: Bind, record: IncidentRecord, *, now: datetime | None = None) -> None:
    """Insert or replace the stored record of one incident (locked first: see the module)."""
    at = now or utcnow()
    incident = record.incident
    values = {
        "source": incident.source.value,
        "source_id": incident.source_id,
        "data": record.to_json(),
        "vendor_updated_at": incident.updated_at,
        "updated_at": at,
    }
    async with transaction(bind) as conn:
        if bind is conn:
            _require_lock(conn, record.id, "a save of the incident")
        else:
            await lock_incident(conn, incident.source.value, incident.source_id, now=at)
        stmt = dialect_insert(conn, incidents).values(id=record.id, created_at=at, **values)
        await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))


async def lock_incidents(
    conn: AsyncConnection, keys: Sequence[tuple[str, str]], *, now: datetime
) -> dict[str, IncidentRecord | None]:
    """`lock_incident` for several incidents in one statement (two on PostgreSQL):
    each stored record by incident id, None for the new ones.

    PostgreSQL locks the rows in id order, as every caller does, so two batches that
    share incidents wait for each other instead of deadlocking.
    """
    ids = sorted({f"{source}:{source_id}": (source, source_id) for source, source_id in keys})
    if not ids:
        return {}
    _remember_locked(conn, ids)
    if is_postgres(conn):
        placeholders = [
            {
                "id": f"{source}:{source_id}",
                "source": source,
                "source_id": source_id,
                "data": {},
                "created_at": now,
                "updated_at": now,
            }
            for source, source_id in sorted(set(keys))
        ]
        insert = dialect_insert(conn, incidents).on_conflict_do_nothing(index_elements=["id"])
        await conn.execute(insert, placeholders)
    query = select(incidents.c.id, incidents.c.data).where(incidents.c.id.in_(ids))
    if is_postgres(conn):
        query = query.order_by(incidents.c.id).with_for_update()
    found: dict[str, IncidentRecord | None] = dict.fromkeys(ids)
    for row in await conn.execute(query):
        found[row.id] = IncidentRecord.from_json(row.data) if row.data else None
    return found


async def save_incidents(
    conn: AsyncConnection, records: Sequence[IncidentRecord], *, now: datetime
) -> None:
    """`save_incident` for several records, in one statement."""
    if not records:
        return
    for record in records:
        _require_lock(conn, record.id, "a save of the incident")
    rows = [
        {
            "id": record.id,
            "source": record.incident.source.value,
            "source_id": record.incident.source_id,
            "data": record.to_json(),
            "vendor_updated_at": record.incident.updated_at,
            "created_at": now,
            "updated_at": now,
        }
        for record in records
    ]
    insert = dialect_insert(conn, incidents)
    excluded = insert.excluded
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "source": excluded.source,
                "source_id": excluded.source_id,
                "data": excluded.data,
                "vendor_updated_at": excluded.vendor_updated_at,
                "updated_at": excluded.updated_at,
            },
        ),
        rows,
    )


async def load_postmortem(bind: Bind, incident_id: str) -> PostMortem | None:
    async with reading(bind) as conn:
        row = (
            await conn.execute(
                select(postmortems.c.data).where(postmortems.c.incident_id == incident_id)
            )
        ).one_or_none()
    return PostMortem.from_stored(row.data) if row is not None else None


async def save_postmortem(bind: Bind, pm: PostMortem, *, now: datetime | None = None) -> None:
    """Insert or replace the post-mortem of `pm.incident_id` (locked first: see the module)."""
    at = now or utcnow()
    values = {
        "status": pm.status.value,
        "data": pm.model_dump(mode="json"),
        "updated_at": at,
    }
    async with transaction(bind) as conn:
        if bind is conn:
            _require_lock(conn, pm.incident_id, "a save of the post-mortem")
        else:
            await lock_incident_id(conn, pm.incident_id, now=at)
        stmt = dialect_insert(conn, postmortems).values(
            id=postmortem_id(pm.incident_id), incident_id=pm.incident_id, created_at=at, **values
        )
        await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
