"""One job run as the worker sees it: the handler shapes, the result, the summary line.

Kept apart from the worker's loop (hub.jobs.worker) so the loop stays readable: these
are the values a run produces and the one log line and metric each run ends with.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import structlog

from hub.jobs.model import Job

log = structlog.get_logger("hub.jobs.worker")

JobHandler = Callable[[Job], Awaitable[None]]


@runtime_checkable
class BatchJobHandler(Protocol):
    """A job handler that can also run several due jobs of its kind at once."""

    batch_size: int

    async def __call__(self, job: Job) -> None: ...

    async def run_batch(self, jobs: Sequence[Job]) -> Sequence[Exception | None]:
        """Per job, in order: None when it succeeded, else the error that stopped it."""
        ...


class RunObserver(Protocol):
    """Told about every job run (the application's metrics implement it)."""

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None: ...


class NoObserver:
    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        return None


@dataclass(frozen=True)
class RunResult:
    """How one run ended; becomes the job.finished log line and the metrics."""

    outcome: str  # done | retry | deferred | dead | lease_lost | cancelled | error
    error: str | None = None
    retry_in_seconds: float | None = None
    exc: BaseException | None = None  # logged with its traceback when unexpected


def grouped(jobs: Sequence[Job], batch_sizes: Mapping[str, int]) -> list[list[Job]]:
    """One group per job, except that the jobs of a batch kind go together."""
    groups: list[list[Job]] = []
    batches: dict[str, list[Job]] = {}
    for job in jobs:
        if job.kind not in batch_sizes:
            groups.append([job])
        elif job.kind in batches:
            batches[job.kind].append(job)
        else:
            batches[job.kind] = [job]
            groups.append(batches[job.kind])
    return groups


def report_run(
    observer: RunObserver, job: Job, result: RunResult, seconds: float, *, batch: int = 1
) -> None:
    """The one summary line per run, and the metrics (a batch's jobs share its time)."""
    observer.job_finished(job.kind, result.outcome, seconds)
    fields: dict[str, object] = {
        "outcome": result.outcome,
        "duration_ms": round(seconds * 1000, 1),
        "attempts": job.attempts,
    }
    if batch > 1:
        fields["batch"] = batch
    if result.error is not None:
        fields["error"] = result.error
    if result.retry_in_seconds is not None:
        fields["retry_in_seconds"] = round(result.retry_in_seconds, 3)
    if result.exc is not None:
        fields["exc_info"] = result.exc
    log.log(_LEVELS.get(result.outcome, logging.ERROR), "job.finished", **fields)


_LEVELS = {
    "done": logging.INFO,
    "cancelled": logging.INFO,
    "deferred": logging.INFO,  # waiting on a paused connector: told once, not per job
    "retry": logging.WARNING,
    "lease_lost": logging.WARNING,
}
