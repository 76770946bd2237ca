"""The job queue's value types, shared by the queue, the worker and the admin surfaces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

SUPERSEDED = "superseded by a newer pending job with the same dedupe key"


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    dedupe_key: str | None
    state: JobState
    run_at: datetime
    attempts: int
    max_attempts: int | None
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    first_failed_at: datetime | None = None  # start of the retry horizon (hub.jobs.retrying)
    takeovers: int = 0  # runs that never reported back (the lease expired)

    @classmethod
    def from_row(cls, row: Row[Any]) -> Job:
        values = dict(row._mapping)
        values["state"] = JobState(values["state"])
        return cls(**values)


@dataclass(frozen=True)
class QueueStats:
    """A snapshot of the queue for /metrics and `pmhub jobs`."""

    counts: Mapping[tuple[str, JobState], int]  # (kind, state) → number of jobs
    depth: int  # pending jobs whose run_at has come (the backlog)
    oldest_pending_age_seconds: float  # how late the oldest due pending job is; 0 when none
    running: int
    dead: int


class LeaseLost(Exception):
    """The job is no longer leased by this owner (taken over after lease expiry)."""

    def __init__(self, job_id: int, owner: str) -> None:
        super().__init__(f"job {job_id} is no longer leased by {owner!r}; its result is dropped")
        self.job_id = job_id
        self.owner = owner


def totals_by_state(counts: Mapping[tuple[str, JobState], int]) -> dict[JobState, int]:
    totals: dict[JobState, int] = {}
    for (_kind, state), n in counts.items():
        totals[state] = totals.get(state, 0) + n
    return totals
