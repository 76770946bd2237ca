"""The post-mortems with their incidents, for the process's numbers (report, metrics, digest).

Only the derived `Incident` each incident row keeps beside its facts is read
(`data -> 'incident'`): the numbers need what the incident is, not how it was merged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from hub.model.incident import Incident
from hub.model.postmortem import PostMortem
from hub.store.db import Bind, reading
from hub.store.tables import incidents, postmortems

Json = Mapping[str, Any]


async def postmortem_rows(bind: Bind) -> list[tuple[Json, Json]]:
    """Every post-mortem and its incident as stored (JSON), oldest post-mortem first.

    Raw, so a caller with many of them can validate them off the event loop
    (`validated`): reading a few thousand is quick, checking them is not.
    """
    query = (
        select(incidents.c.data["incident"].label("incident"), postmortems.c.data)
        .join(incidents, incidents.c.id == postmortems.c.incident_id)
        .order_by(postmortems.c.created_at, postmortems.c.id)
    )
    async with reading(bind) as conn:
        return [(row.incident, row.data) for row in await conn.execute(query) if row.incident]


def validated(rows: list[tuple[Json, Json]]) -> list[tuple[Incident, PostMortem]]:
    return [(Incident.model_validate(i), PostMortem.model_validate(pm)) for i, pm in rows]


async def postmortems_with_incidents(bind: Bind) -> list[tuple[Incident, PostMortem]]:
    """Every post-mortem and its incident, oldest post-mortem first."""
    return validated(await postmortem_rows(bind))
