"""Which post-mortem a tracker's ticket belongs to, open or closed.

A follow-up outlives its post-mortem (closed after the meeting, the work takes weeks),
so a ticket's updates must reach it either way. The JSON text is searched for the key
first (cheap on both databases), then each candidate is checked exactly.
"""

from __future__ import annotations

from sqlalchemy import String, cast, select

from hub.model.postmortem import PostMortem
from hub.store.db import Bind, reading
from hub.store.tables import postmortems


async def postmortem_with_ticket(bind: Bind, key: str) -> PostMortem | None:
    """The post-mortem one of whose follow-ups is filed as `key` (case-insensitive)."""
    wanted = key.upper()
    text = cast(postmortems.c.data, String)
    query = select(postmortems.c.data).where(text.ilike(f'%"{_like(wanted)}"%', escape="\\"))
    async with reading(bind) as conn:
        for row in await conn.execute(query):
            pm = PostMortem.from_stored(row.data)
            if any((item.tracker_key or "").upper() == wanted for item in pm.follow_ups):
                return pm
    return None


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
