"""Wiring: the pacer connectors get, shared by replicas when the store can share it.

On PostgreSQL every replica claims its turns from the `pacing_slots` table
(`hub.store.pacing`), so N replicas together keep a vendor's per-key limit (Slack:
one post per second per channel; Statuspage: one request per second per key).
SQLite is one process by design, and an in-memory `KeyedPacer` paces it. The Slack
connector also paces its roll-up edits through this pacer (a workspace-wide key at
chat.update's own interval), so they too are shared by the replicas.

Either way a caller waits for its turn in the job worker's waiting room
(`hub.jobs.parking`), so a backed-up channel does not hold the worker's slots.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.pacer import KeyedPacer, Pacer
from connectors.common.shared_pacer import SharedPacer
from hub.jobs.parking import WorkerWaitingRoom
from hub.store.db import is_postgres
from hub.store.pacing import claim_slot, hold_back


def pacer_for(engine: AsyncEngine, interval: float, *, namespace: str) -> Pacer:
    """The pacer for one vendor's keys; `namespace` keeps its keys apart in the ledger."""
    room = WorkerWaitingRoom()
    if not is_postgres(engine):
        return KeyedPacer(interval, room=room)
    return SharedPacer(
        interval,
        partial(claim_slot, engine),
        partial(hold_back, engine),
        namespace=namespace,
        room=room,
    )
