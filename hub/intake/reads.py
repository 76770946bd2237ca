"""Enrichment reads a retried ingest job does not repeat (issue 12, defect 2).

A PagerDuty resolution takes a few reads (the incident, its log entries, the on-call,
users' emails), and under vendor faults they rarely all succeed in one attempt.
Each read that succeeded is kept, by what it asked for, in the job's checkpoint
(`JobQueue.checkpoint`); the retry starts from there and repeats only the ones that
failed. Replaying an older read is safe: facts merge by vendor timestamp, and a newer
delivery brings its own newer reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

import structlog

from hub.errors import AuthFailed, ConnectorError

T = TypeVar("T")
log = structlog.get_logger("pmhub.ingest")

CHECKPOINT_KEY = "reads"  # where the reads live in an ingest job's payload


class Reads:
    """Vendor reads by key ("pagerduty:incident:P1"), JSON values as the vendor sent them."""

    def __init__(self, kept: Mapping[str, Any] | None = None) -> None:
        self.kept: dict[str, Any] = dict(kept or {})
        self.new = False  # a read succeeded in this attempt: worth a checkpoint

    async def read(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`'s answer, from an earlier attempt when it succeeded then."""
        if key in self.kept:
            return cast(T, self.kept[key])
        value = await call()
        self.kept[key] = value
        self.new = True
        return value


def from_payload(payload: Mapping[str, Any]) -> Reads:
    kept = payload.get(CHECKPOINT_KEY)
    return Reads(kept if isinstance(kept, dict) else None)


# The reads of the gathering under way: each delivery is gathered in a task of its own
# (or awaited alone), so the variable set in `gather` is that delivery's.
_READS: ContextVar[Reads] = ContextVar("pmhub_ingest_reads")


async def read(key: str, call: Callable[[], Awaitable[T]]) -> T:
    """A vendor read, kept for a retry of this job (see hub.intake.reads)."""
    return await _READS.get().read(key, call)


async def optional_read(key: str, call: Callable[[], Awaitable[T]], what: str) -> T | None:
    """An enrichment (an email, the on-call): when the vendor cannot give it, the delivery
    goes on without it rather than failing (a deleted user would otherwise stop every
    retry). Bad credentials are raised: nothing else would work either."""
    try:
        return await read(key, call)
    except AuthFailed:
        raise
    except ConnectorError as exc:
        log.warning("ingest.enrichment_failed", what=what, error=str(exc), key=key)
        return None


@asynccontextmanager
async def gathering(reads: Reads) -> AsyncIterator[Reads]:
    """Make `reads` the reads of the delivery gathered inside this block."""
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)
