"""Stored incidents and post-mortems (the read side; writers arrive with normalize).

Both keep their canonical model as JSON in `data`; the columns beside it are
what queries filter on. Rows come back as JSON-ready dicts (timestamps as
ISO-8601 UTC strings) because their readers are the admin API and the CLI,
which hand them straight to a JSON encoder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select

from hub.store.db import Bind, reading
from hub.store.tables import incidents, postmortems

Record = dict[str, Any]


def _json_ready(row: Row[Any]) -> Record:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in row._mapping.items()
    }


async def _one(bind: Bind, query: Select[Any]) -> Record | None:
    async with reading(bind) as conn:
        row = (await conn.execute(query)).one_or_none()
    return _json_ready(row) if row is not None else None


async def _all(bind: Bind, query: Select[Any]) -> list[Record]:
    async with reading(bind) as conn:
        return [_json_ready(row) for row in await conn.execute(query)]


async def get_incident(bind: Bind, incident_id: str) -> Record | None:
    """One incident by id ("<source>:<source_id>", e.g. "pagerduty:P123")."""
    return await _one(bind, select(incidents).where(incidents.c.id == incident_id))


async def list_incidents(
    bind: Bind, *, source: str | None = None, limit: int = 100
) -> list[Record]:
    """Most recently updated first."""
    query = select(incidents).order_by(incidents.c.updated_at.desc(), incidents.c.id).limit(limit)
    if source is not None:
        query = query.where(incidents.c.source == source)
    return await _all(bind, query)


async def get_postmortem(bind: Bind, postmortem_id: str) -> Record | None:
    return await _one(bind, select(postmortems).where(postmortems.c.id == postmortem_id))


async def get_postmortem_for_incident(bind: Bind, incident_id: str) -> Record | None:
    return await _one(bind, select(postmortems).where(postmortems.c.incident_id == incident_id))


async def list_postmortems(
    bind: Bind, *, status: str | None = None, limit: int = 100
) -> list[Record]:
    """Most recently updated first."""
    query = (
        select(postmortems).order_by(postmortems.c.updated_at.desc(), postmortems.c.id).limit(limit)
    )
    if status is not None:
        query = query.where(postmortems.c.status == status)
    return await _all(bind, query)
