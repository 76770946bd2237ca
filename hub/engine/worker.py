"""The worker: leases due jobs and runs them, N at a time, until stopped.

Outcomes follow the error taxonomy in hub.errors and nothing else:

- success, or `Conflict` (the effect already exists) → done.
- `Transient` / `RateLimited` → retry after exponential backoff with full
  jitter, never sooner than the vendor's `retry_after`.
- `Permanent` → dead at once with the vendor's reason.
- `AuthFailed` → retry after a long fixed delay (`auth_retry_seconds`, 15
  minutes by default), logged as an error once per job kind until that kind
  succeeds again. Credentials do not fix themselves within seconds, so hot
  retries would only hammer the vendor and flood the log; the long delay acts as
  the connector's pause. These runs still count as attempts: if credentials
  stay broken for max_attempts times the delay, the job dead-letters, where a person
  sees it and can retry it once the credentials are fixed, rather than waiting
  invisibly forever.
- any other exception → a bug or an unmapped vendor error: retried like
  `Transient`, logged with its traceback. It never stops the worker.
- no handler for the job's kind → dead at once: no retry can fix that.

After `max_attempts` runs a failing job goes dead with its last error. A long
job's lease is renewed every lease/3 so it is not taken over while alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError
from structlog.contextvars import bound_contextvars

from hub.engine.backoff import next_retry_delay
from hub.errors import AuthFailed, Conflict, Permanent, Transient
from hub.metrics import JOB_DURATION, JOB_RUNS
from hub.store.db import utcnow
from hub.store.jobs import Job, JobQueue, LeaseLost

JobHandler = Callable[[Job], Awaitable[None]]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Outcome:
    """How one run ended; becomes the job.finished log line and the metrics."""

    outcome: str  # done | retry | dead | lease_lost | cancelled | error
    error: str | None = None
    retry_in_seconds: float | None = None
    exc: BaseException | None = None  # logged with its traceback when unexpected


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, JobHandler],
        *,
        concurrency: int = 4,
        max_attempts: int = 8,
        backoff_base_seconds: float = 2.0,
        backoff_max_seconds: float = 600.0,
        lease_seconds: float = 60.0,
        poll_interval_seconds: float = 5.0,
        owner: str | None = None,
        auth_retry_seconds: float = 900.0,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
        under_pressure: Callable[[], bool] = lambda: False,
    ) -> None:
        if concurrency < 1 or max_attempts < 1 or lease_seconds <= 0:
            raise ValueError("concurrency, max_attempts and lease_seconds must be positive")
        self.queue = queue
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.lease_seconds = lease_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.auth_retry_seconds = auth_retry_seconds
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self._rng = rng or random.Random()
        # The same clock the reconciler computes run_at with, so timers and retries
        # are compared on one time line (tests and the sandbox shift it).
        self._clock = clock
        # Acknowledging webhooks comes first (vendors give up after seconds, work can
        # wait in the durable queue): while the front door is busy, run one job at a time.
        self._under_pressure = under_pressure
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._auth_failed_kinds: set[str] = set()

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done() and not self._stopping

    def wake(self) -> None:
        """Look for due jobs now instead of at the next poll."""
        self.queue.wake()

    async def start(self) -> None:
        if self._loop_task is not None:
            raise RuntimeError("worker already started")
        await self.queue.start_listener()
        self._loop_task = asyncio.create_task(self._loop(), name=f"pmhub-worker-{self.owner}")

    async def stop(self, grace_seconds: float = 10.0) -> int:
        """Stop leasing; give running jobs `grace_seconds`, then cancel and release them.

        Returns how many jobs were released back to the queue. Released jobs are
        pending again at once, so another replica (or the next start) picks them up.
        """
        self._stopping = True
        self.queue.wake()
        if self._loop_task is not None:
            await self._loop_task
        unfinished: set[asyncio.Task[None]] = set()
        if self._tasks:
            _done, unfinished = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        try:
            released = await self.queue.release(self.owner)
        except (SQLAlchemyError, OSError):
            # The store is gone: nothing to give back now. The leases expire on their
            # own and another worker (or the next start) takes the jobs over.
            log.warning("worker.release_failed", owner=self.owner, exc_info=True)
            released = 0
        await self.queue.close()
        log.info("worker.stopped", owner=self.owner, released=released)
        return released

    # -- the leasing loop ----------------------------------------------------------

    async def _loop(self) -> None:
        log.info("worker.started", owner=self.owner, concurrency=self.concurrency)
        while not self._stopping:
            # Cleared before looking, so a wake-up during the lease is not lost.
            self.queue.wakeup.clear()
            try:
                timeout = await self._lease_and_spawn()
            except Exception:
                # The database may be restarting; keep the loop alive and retry.
                log.exception("worker.lease_failed", owner=self.owner)
                timeout = self.poll_interval_seconds
            if timeout > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.queue.wakeup.wait(), timeout)

    async def _lease_and_spawn(self) -> float:
        """Lease for the free slots; return how long to sleep (0: look again now)."""
        limit = 1 if self._under_pressure() else self.concurrency
        free = limit - len(self._tasks)
        if free <= 0:
            return self.poll_interval_seconds  # a finishing job wakes us
        now = self._clock()
        jobs = await self.queue.lease(
            self.owner, limit=free, lease_seconds=self.lease_seconds, now=now
        )
        for job in jobs:
            task = asyncio.create_task(self._run(job), name=f"pmhub-job-{job.id}")
            self._tasks.add(task)
            task.add_done_callback(self._on_task_done)
        if jobs:
            return 0.0 if len(jobs) == free else self.poll_interval_seconds
        next_run = await self.queue.next_run_at(now)
        if next_run is None:
            return self.poll_interval_seconds
        until_timer = (next_run - self._clock()).total_seconds()
        return max(0.0, min(self.poll_interval_seconds, until_timer))

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.queue.wake()  # a slot is free

    # -- one job run -------------------------------------------------------------

    async def _run(self, job: Job) -> None:
        started = time.monotonic()
        with bound_contextvars(job_id=job.id, job_kind=job.kind):
            result = _Outcome("cancelled")
            try:
                result = await self._execute(job)
            finally:
                self._report(job, result, time.monotonic() - started)

    async def _execute(self, job: Job) -> _Outcome:  # noqa: PLR0911 - one return per outcome
        handler = self.handlers.get(job.kind)
        if handler is None:
            return await self._dead(job, f"no handler registered for kind {job.kind!r}")
        limit = job.max_attempts or self.max_attempts
        if job.attempts > limit:
            # Only lease takeovers get here: the earlier runs never reported back.
            reason = f"lease expired (worker crashed or hung); last error: {job.last_error}"
            return await self._dead(job, f"gave up after {job.attempts - 1} attempts: {reason}")
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            await handler(job)
        except Conflict:
            pass  # the effect already exists: that is success
        except Permanent as exc:
            return await self._dead(job, f"Permanent: {exc.reason}")
        except AuthFailed as exc:
            self._log_auth_failed_once(job, exc)
            return await self._retry(job, exc, delay=self.auth_retry_seconds)
        except Transient as exc:
            return await self._retry(job, exc, retry_after=exc.retry_after)
        except Exception as exc:  # noqa: BLE001 - unmapped error: retried, traceback logged
            return await self._retry(job, exc, unexpected=True)
        finally:
            heartbeat.cancel()
        self._auth_failed_kinds.discard(job.kind)
        return await self._record(job, "done", None)

    async def _retry(
        self,
        job: Job,
        exc: Exception,
        *,
        retry_after: float | None = None,
        delay: float | None = None,
        unexpected: bool = False,
    ) -> _Outcome:
        error = f"{type(exc).__name__}: {exc}"
        if job.attempts >= (job.max_attempts or self.max_attempts):
            dead = await self._dead(job, f"gave up after {job.attempts} attempts: {error}")
            return _Outcome(dead.outcome, dead.error, exc=exc if unexpected else None)
        if delay is None:
            delay = next_retry_delay(
                job.attempts,
                base=self.backoff_base_seconds,
                cap=self.backoff_max_seconds,
                retry_after=retry_after,
                rng=self._rng,
            )
        retry_at = self._clock() + timedelta(seconds=delay)
        result = await self._record(job, "retry", error, retry_at=retry_at)
        return _Outcome(result.outcome, error, delay, exc=exc if unexpected else None)

    async def _dead(self, job: Job, reason: str) -> _Outcome:
        return await self._record(job, "dead", reason)

    async def _record(
        self,
        job: Job,
        outcome: str,
        error: str | None,
        *,
        retry_at: datetime | None = None,
    ) -> _Outcome:
        """Write the run's outcome, fenced by our lease."""
        try:
            if outcome == "done":
                await self.queue.complete(job, self.owner)
            else:
                await self.queue.fail(job, self.owner, error or "", retry_at=retry_at)
        except LeaseLost as exc:
            return _Outcome("lease_lost", str(exc))
        except Exception as exc:  # noqa: BLE001 - logged in the job's summary line
            # The lease will expire and the job will run again; idempotency covers it.
            return _Outcome("error", f"could not record outcome {outcome}: {exc}", exc=exc)
        return _Outcome(outcome, error)

    async def _heartbeat(self, job: Job) -> None:
        interval = self.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                alive = await self.queue.renew(
                    job, self.owner, lease_seconds=self.lease_seconds, now=self._clock()
                )
            except Exception:
                log.warning("job.lease_renew_failed", exc_info=True)
                continue
            if not alive:
                # Taken over: our result will be dropped; the new owner's run counts.
                log.warning("job.lease_lost", owner=self.owner)
                return

    def _log_auth_failed_once(self, job: Job, exc: AuthFailed) -> None:
        if job.kind not in self._auth_failed_kinds:
            self._auth_failed_kinds.add(job.kind)
            log.error(
                "connector.auth_failed",
                error=str(exc),
                retry_in_seconds=self.auth_retry_seconds,
                hint="check the connector's credentials; jobs of this kind are paused",
            )

    def _report(self, job: Job, result: _Outcome, seconds: float) -> None:
        """The one summary line per run, and the metrics."""
        if result.outcome in ("done", "retry", "dead"):
            JOB_RUNS.labels(job.kind, result.outcome).inc()
        JOB_DURATION.labels(job.kind).observe(seconds)
        fields: dict[str, object] = {
            "outcome": result.outcome,
            "duration_ms": round(seconds * 1000, 1),
            "attempts": job.attempts,
        }
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
    "retry": logging.WARNING,
    "lease_lost": logging.WARNING,
}
