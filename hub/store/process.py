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


async def postmortems_with_incidents(bind: Bind) -> list[tuple[Incident, PostMortem]]:
    """Every post-mortem and its incident, oldest post-mortem first."""
    query = (
        select(incidents.c.data["incident"].label("incident"), postmortems.c.data)
        .join(incidents, incidents.c.id == postmortems.c.incident_id)
        .order_by(postmortems.c.created_at, postmortems.c.id)
    )
    found: list[tuple[Incident, PostMortem]] = []
    async with reading(bind) as conn:
        for row in await conn.execute(query):
            incident = _incident(row.incident)
            if incident is not None:
                found.append((incident, PostMortem.model_validate(row.data)))
    return found


def _incident(data: Mapping[str, Any] | None) -> Incident | None:
    if not data:
        return None
    return Incident.model_validate(data)
