"""A job waiting for a vendor's turn gives its worker slot back while it waits (issue 16).

The Slack pacer makes a post wait for its channel's turn (one post a second). In a
storm the incidents channel is backed up for minutes, and a post's job used to wait
inside one of the worker's few slots: with every slot waiting for that channel,
calendar bookings and DMs to other channels, which have no such limit, moved at the
channel's pace too (the meeting's median latency went from 31 s at 50 incidents to
139 s at 200).

Three ways out were weighed:

- Reschedule the job at its slot's time (a `RateLimited` with the wait as its
  Retry-After). The slot is handed out when asked (on PostgreSQL it is claimed in the
  shared ledger), so a job coming back at its time would have to own a reservation
  across runs, or claim again and fall further back every time; the channel's order
  would hang on run_at ties; each reschedule costs a write, a lease and a run.
- A lane (a slot budget) per vendor: a backed-up incidents channel would still hold
  back the DMs, which are Slack's too, and the split needs tuning per deployment.
- Chosen: a waiting task stops counting against concurrency while it waits. The wait
  stays where the pacer already orders it (arrival order per key, the shared ledger
  across replicas), the job keeps its lease (its heartbeat runs on) and runs exactly
  once, and the vendors' limits are untouched: only the worker's bookkeeping changes.

The room is bounded (`capacity` waiting jobs per worker; the leased jobs, their tasks
and heartbeats are what a wait costs). When it is full, a job that would wait behind a
backlog it can see is rescheduled after that backlog instead (`LaneBacklogged`, a
`RateLimited`, which hub.jobs.retrying treats as not a failure: no horizon, no attempt
cap), each one an interval after the one sent away before it (the pacer's promises), so
they come back at the pace the channel takes them, not as a herd that finds the room
full again; a job that cannot see a backlog waits holding its slot as before.

A job coming back from the room does not wait for a slot again: its vendor turn is
now, and missing it would waste the turn. So for the moment of its call the worker
may run a few more jobs than its concurrency, never more than the room holds.

The pacers live in `connectors.common`, which may not import the job layer: they get
a `WorkerWaitingRoom` from the wiring (`hub.pacing`), which finds the room of the
worker running the current job through a context variable the worker sets per run.
A caller outside any job (a command answered in a request) waits as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, nullcontext
from contextvars import ContextVar

DEFAULT_CAPACITY = 256


class Parking:
    """One worker's waiting room: how many of its jobs are waiting for a vendor's turn now."""

    def __init__(self, capacity: int, on_enter: Callable[[], None]) -> None:
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        self.capacity = capacity
        self.waiting = 0
        self._on_enter = on_enter  # the worker leases for the slot just lent

    def full(self) -> bool:
        return self.waiting >= self.capacity

    @asynccontextmanager
    async def wait(self) -> AsyncIterator[None]:
        self.waiting += 1
        self._on_enter()
        try:
            yield
        finally:
            self.waiting -= 1

    @contextmanager
    def hosting(self) -> Iterator[None]:
        """The current task's job is this worker's: its pacer waits come here."""
        token = _current_room.set(self)
        try:
            yield
        finally:
            _current_room.reset(token)


_current_room: ContextVar[Parking | None] = ContextVar("pmhub_waiting_room", default=None)


class WorkerWaitingRoom:
    """The `connectors.common.pacer.WaitingRoom` the wiring gives the pacers: the room of
    the worker running the calling job, or none outside a job."""

    def full(self) -> bool:
        room = _current_room.get()
        return room is not None and room.full()

    def waiting(self) -> AbstractAsyncContextManager[None]:
        room = _current_room.get()
        return room.wait() if room is not None else nullcontext()
