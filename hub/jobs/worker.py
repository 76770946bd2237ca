"""The worker: leases due jobs and runs them, N at a time, until stopped.

Outcomes follow the error taxonomy in hub.errors and nothing else; what a failure
means for its job (retry when, pause the connector, give up) is decided in
hub.jobs.retrying, by time rather than by count:

- success, or `Conflict` (the effect already exists) → done.
- `Transient`, or any unmapped exception (a bug: logged with its traceback) → retried
  with capped exponential backoff and full jitter until the job has been failing for
  longer than its kind's retry horizon (hours), then dead with an explained reason.
- `RateLimited` → retried no sooner than Retry-After; not a failure of the job.
- `Permanent` → dead at once with the vendor's reason.
- `AuthFailed` → the job's connector is paused on every replica (hub.jobs.pauses): its
  jobs wait for the next probe instead of dying; the operations channel hears it once.
- no handler for the job's kind → dead at once: no retry can fix that.

A dead job is told to the operations channel once (`JobAlerts`). A long job's lease
is renewed every lease/3 so it is not taken over while alive.

A handler that also has `run_batch` (a `BatchJobHandler`, e.g. ingest) gets the due
jobs of its kind together, up to its `batch_size`, in one of the worker's slots; each
job keeps its own outcome, retries and summary line, and the successful ones are
marked done in one statement.

Acknowledging webhooks comes first: vendors give up after seconds, while a job can
wait in the durable queue. While the front door is under pressure (`under_pressure`),
the worker runs one task at a time and rests `pressure_pause_seconds` after each batch
of intake (ingest), not after the reconciles and effects a team is waiting for.

A job waiting for a vendor's turn does not count against `concurrency` meanwhile
(hub.jobs.parking: at most `max_waiting` such jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError
from structlog.contextvars import bound_contextvars

from hub.errors import Conflict, ConnectorError
from hub.jobs.alerts import JobAlerts, LogAlerts
from hub.jobs.heartbeat import keep_leases
from hub.jobs.parking import DEFAULT_CAPACITY, Parking
from hub.jobs.pauses import PauseBoard, connector_of, deferred_error
from hub.jobs.queue import Job, JobQueue, LeaseLost
from hub.jobs.retrying import Action, RetryPolicy, decide, takeover_verdict
from hub.jobs.runs import (
    BatchJobHandler,
    JobHandler,
    NoObserver,
    RunObserver,
    RunResult,
    grouped,
    report_run,
)
from hub.store.db import utcnow

__all__ = ["BatchJobHandler", "JobHandler", "RunObserver", "Worker"]

log = structlog.get_logger(__name__)


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, JobHandler],
        *,
        concurrency: int = 4,
        max_attempts: int | None = None,
        backoff_base_seconds: float = 2.0,
        backoff_max_seconds: float = 600.0,
        lease_seconds: float = 60.0,
        poll_interval_seconds: float = 5.0,
        owner: str | None = None,
        auth_retry_seconds: float = 900.0,
        retry_policy: RetryPolicy | None = None,
        alerts: JobAlerts | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
        under_pressure: Callable[[], bool] = lambda: False,
        pressure_pause_seconds: float = 0.5,
        linger_seconds: float = 0.1,
        observer: RunObserver | None = None,
        max_waiting: int = DEFAULT_CAPACITY,
    ) -> None:
        if concurrency < 1 or (max_attempts or 1) < 1 or lease_seconds <= 0:
            raise ValueError("concurrency, max_attempts and lease_seconds must be positive")
        self.queue = queue
        self.handlers = dict(handlers)
        self._observer = observer or NoObserver()
        self.concurrency = concurrency
        self.policy = retry_policy or RetryPolicy(
            backoff_base_seconds=backoff_base_seconds,
            backoff_max_seconds=backoff_max_seconds,
            max_attempts=max_attempts,
            auth_probe_seconds=auth_retry_seconds,
        )
        self.lease_seconds = lease_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self._alerts = alerts or LogAlerts()
        self.pauses = PauseBoard(
            queue.engine, self._alerts, ttl_seconds=poll_interval_seconds, clock=clock
        )
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self._rng = rng or random.Random()
        # The same clock the reconciler computes run_at with, so timers and retries
        # are compared on one time line (tests and the sandbox shift it).
        self._clock = clock
        # Acknowledging webhooks comes first (see the module docstring).
        self._under_pressure = under_pressure
        self.pressure_pause_seconds = pressure_pause_seconds
        # Once a lease took all of a batched kind, it waits this long to gather (issue 16).
        self.linger_seconds = linger_seconds
        self._next_lease = -1e9  # monotonic time before which batched kinds are not leased
        self._batch_sizes = {
            kind: handler.batch_size
            for kind, handler in self.handlers.items()
            if isinstance(handler, BatchJobHandler) and handler.batch_size > 1
        }
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._stop_requested = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._last_finished = -1e9  # monotonic time a batch of intake work last ended
        # Jobs waiting for a vendor's turn lend their slots out (see hub.jobs.parking).
        self.parking = Parking(max_waiting, on_enter=self._slot_freed.set)

    def use_alerts(self, alerts: JobAlerts) -> None:
        """Where dead jobs and paused connectors are told (before `start`)."""
        self._alerts = self.pauses.alerts = alerts

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done() and not self._stopping

    @property
    def stopped(self) -> bool:
        """True once `stop` has ended the leasing loop: nothing more is leased."""
        return self._loop_task is not None and self._loop_task.done()

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
        self._stop_requested.set()
        self._slot_freed.set()
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
        await self._alerts.drain()
        log.info("worker.stopped", owner=self.owner, released=released)
        return released

    async def run_until_idle(
        self, *, max_seconds: float = 60.0, retries_within: float = 5.0
    ) -> None:
        """Burst mode: run every due job, and return once none is due and none is running.

        For tests and one-off drains (arq's burst mode). A job that failed and will be
        retried within `retries_within` seconds is waited for too, so a drain does not
        end between a fault and its retry; timers further ahead (reminders) stay queued.
        Works whether or not the leasing loop runs: "running" is read from the store, so
        the loop's jobs (and other replicas') count as well as this call's own.
        Raises TimeoutError after `max_seconds`.
        """
        async with asyncio.timeout(max_seconds):
            while True:
                if self._busy() >= self._slots():
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
                    continue
                self.queue.wakeup.clear()
                self._next_lease = -1e9  # no lingering: leasing at once is the point here
                if await self._lease_and_spawn() == 0.0:
                    continue  # more is due
                if self._tasks:
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
                    continue
                wait = await self._until_busy_or_retry(retries_within)
                if wait is None:
                    # Idle twice, a moment apart: a job between two states (released by
                    # a run and re-leased by the leasing loop) is not mistaken for none.
                    await asyncio.sleep(_IDLE_RECHECK_SECONDS)
                    if not self._tasks and await self._until_busy_or_retry(retries_within) is None:
                        return
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.queue.wakeup.wait(), wait)

    async def _until_busy_or_retry(self, retries_within: float) -> float | None:
        """None when the store is idle; else how long to wait before looking again.

        Besides retries, a job due within a moment counts as work: a job enqueued while
        this looked (its run_at read from the clock a hair after this call's `now`)
        must not be mistaken for a timer.
        """
        now = self._clock()
        stats = await self.queue.stats(now)
        if stats.depth or stats.running:
            return _IDLE_RECHECK_SECONDS  # someone else's job, or one just come due
        horizons = [
            (await self.queue.next_retry_at(now), retries_within),
            (await self.queue.next_run_at(now), _IMMINENT_SECONDS),
        ]
        waits = [
            (at - now).total_seconds()
            for at, within in horizons
            if at is not None and at <= now + timedelta(seconds=within)
        ]
        return max(0.0, min(waits)) if waits else None

    # -- the leasing loop ----------------------------------------------------------

    async def _loop(self) -> None:
        log.info("worker.started", owner=self.owner, concurrency=self.concurrency)
        while not self._stopping:
            if self._busy() >= self._slots():
                # Full: nothing to lease until a task ends (new work only sets the flag).
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            if (pause := self._pressure_pause()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_requested.wait(), pause)
                continue
            # Cleared before looking, so a wake-up during the lease is not lost.
            self.queue.wakeup.clear()
            self._slot_freed.clear()
            try:
                timeout = await self._lease_and_spawn()
            except Exception:
                # The database may be restarting; keep the loop alive and retry.
                log.exception("worker.lease_failed", owner=self.owner)
                timeout = self.poll_interval_seconds
            # Lingering, only a job of ours ending (its next hop enqueued) wakes it early.
            linger = max(self._next_lease - time.monotonic(), 0.0)
            woken = self._slot_freed if linger else self.queue.wakeup
            if timeout > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), min(timeout, linger or timeout))

    def _busy(self) -> int:  # running tasks, less those waiting for a vendor's turn
        return len(self._tasks) - self.parking.waiting

    def _slots(self) -> int:
        return 1 if self._under_pressure() else self.concurrency

    def _pressure_pause(self) -> float:
        """How long to rest before the next task while the front door is busy."""
        if not self._under_pressure():
            return 0.0
        return self._last_finished + self.pressure_pause_seconds - time.monotonic()

    async def _lease_and_spawn(self) -> float:
        """Lease for the free slots; return how long to sleep (0: look again now)."""
        free = self._slots() - self._busy()
        if free <= 0:
            return 0.0  # the pressure changed since the loop looked: it waits for a slot
        now = self._clock()
        jobs = await self.queue.lease(
            self.owner,
            limit=free,
            lease_seconds=self.lease_seconds,
            now=now,
            batch=self._batch_sizes,
            skip_kinds=self._batch_sizes.keys() if self._next_lease > time.monotonic() else (),
        )
        groups = grouped(jobs, self._batch_sizes)
        for group in groups:
            runner = self._run(group[0]) if len(group) == 1 else self._run_batch(group)
            task = asyncio.create_task(runner, name=f"pmhub-job-{group[0].id}")
            self._tasks.add(task)
            task.add_done_callback(self._on_task_done)
            if group[0].kind in self._batch_sizes:  # intake work: rested after (pressure)
                task.add_done_callback(self._rest_after)
        if jobs:
            # More may be due when every slot was filled or a batch came back full.
            full = len(groups) >= free or any(
                len(group) >= self._batch_sizes.get(group[0].kind, 0) > 1 for group in groups
            )
            if not full and any(job.kind in self._batch_sizes for job in jobs):
                self._next_lease = time.monotonic() + self.linger_seconds  # the next ones gather
            return 0.0 if full else self.poll_interval_seconds
        next_run = await self.queue.next_run_at(now)
        if next_run is None:
            return self.poll_interval_seconds
        until_timer = (next_run - self._clock()).total_seconds()
        return max(0.0, min(self.poll_interval_seconds, until_timer))

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()
        self.queue.wake()

    def _rest_after(self, _task: asyncio.Task[None]) -> None:
        self._last_finished = time.monotonic()

    # -- one job run -------------------------------------------------------------

    async def _run(self, job: Job) -> None:
        started = time.monotonic()
        with bound_contextvars(job_id=job.id, job_kind=job.kind):
            result = RunResult("cancelled")
            try:
                result = await self._execute(job)
            finally:
                report_run(self._observer, job, result, time.monotonic() - started)

    async def _execute(self, job: Job) -> RunResult:
        handler = self.handlers.get(job.kind)
        if handler is None:
            return await self._dead(job, f"no handler registered for kind {job.kind!r}")
        if (held := await self._held_back(job)) is not None:
            return held
        heartbeat = asyncio.create_task(self._heartbeat([job]))
        try:
            with self.parking.hosting():
                await handler(job)
        except Exception as exc:  # noqa: BLE001 - every error is mapped in _settle
            return await self._settle(job, exc)
        finally:
            heartbeat.cancel()
        return await self._settle(job, None)

    async def _held_back(self, job: Job) -> RunResult | None:
        """A job that may not run now: dead after too many takeovers, or deferred
        while its connector is paused (without starting its retry horizon)."""
        if (reason := takeover_verdict(self.policy, job)) is not None:
            return await self._dead(job, reason)
        connector = connector_of(job)
        pause = await self.pauses.current(connector)
        if pause is None:
            return None
        # A little jitter, so the waiting jobs do not all probe at the same instant.
        spread = timedelta(seconds=self._rng.uniform(0, self.lease_seconds))
        error = deferred_error(connector, pause.reason)
        result = await self._record(
            job, "deferred", error, retry_at=pause.probe_at + spread, counted=False
        )
        return RunResult(result.outcome, error)

    async def _settle(self, job: Job, error: Exception | None) -> RunResult:
        """Record how a run ended, by the error taxonomy (hub.jobs.retrying decides)."""
        if error is None or isinstance(error, Conflict):  # Conflict: the effect exists
            await self.pauses.succeeded([job])
            return await self._record(job, "done", None)
        decision = decide(self.policy, job, error, now=self._clock(), rng=self._rng)
        if decision.action is Action.PAUSE:
            assert decision.retry_at is not None  # noqa: S101 - a pause names its probe time
            connector = connector_of(job)
            await self.pauses.auth_failed(connector, decision.error, decision.retry_at)
            # Marked like the jobs it holds back, so a resume brings this one forward too.
            decision = replace(decision, error=deferred_error(connector, decision.error))
        # A known error is expected; anything else is a bug, logged with its traceback.
        unexpected = error if not isinstance(error, ConnectorError) else None
        if decision.action is Action.DEAD:
            dead = await self._dead(job, decision.error)
            return RunResult(dead.outcome, dead.error, exc=unexpected)
        outcome = "retry" if decision.action is Action.RETRY else "deferred"
        result = await self._record(
            job, outcome, decision.error, retry_at=decision.retry_at, counted=decision.counted
        )
        delay = (decision.retry_at - self._clock()).total_seconds() if decision.retry_at else None
        return RunResult(result.outcome, decision.error, delay, exc=unexpected)

    # -- a batch run ---------------------------------------------------------------

    async def _run_batch(self, jobs: list[Job]) -> None:
        started = time.monotonic()
        results = {job.id: RunResult("cancelled") for job in jobs}
        try:
            await self._execute_batch(jobs, results)
        finally:
            seconds = time.monotonic() - started
            for job in jobs:
                with bound_contextvars(job_id=job.id, job_kind=job.kind):
                    report_run(self._observer, job, results[job.id], seconds, batch=len(jobs))

    async def _execute_batch(self, jobs: list[Job], results: dict[int, RunResult]) -> None:
        handler = self.handlers[jobs[0].kind]
        assert isinstance(handler, BatchJobHandler)  # noqa: S101 - only batch kinds are grouped
        runnable: list[Job] = []
        for job in jobs:
            if (held := await self._held_back(job)) is not None:
                results[job.id] = held
            else:
                runnable.append(job)
        if not runnable:
            return
        heartbeat = asyncio.create_task(self._heartbeat(runnable))
        try:
            errors = list(await handler.run_batch(runnable))
        except Exception as exc:  # noqa: BLE001 - the whole batch failed: each job is settled
            errors = [exc] * len(runnable)
        finally:
            heartbeat.cancel()
        done = [j for j, e in zip(runnable, errors, strict=True) if e is None or _is_done(e)]
        results.update(await self._record_done(done))
        for job, error in zip(runnable, errors, strict=True):
            if error is not None and not _is_done(error):
                results[job.id] = await self._settle(job, error)

    async def _record_done(self, jobs: list[Job]) -> dict[int, RunResult]:
        """Mark jobs done in one statement, fenced by our leases like `_record`."""
        if not jobs:
            return {}
        try:
            completed = await self.queue.complete_many(jobs, self.owner, now=self._clock())
        except Exception as exc:  # noqa: BLE001 - logged in each job's summary line
            error = RunResult("error", f"could not record outcome done: {exc}", exc=exc)
            return {job.id: error for job in jobs}
        await self.pauses.succeeded(jobs)
        return {
            job.id: RunResult("done")
            if job.id in completed
            else RunResult("lease_lost", str(LeaseLost(job.id, self.owner)))
            for job in jobs
        }

    async def _dead(self, job: Job, reason: str) -> RunResult:
        result = await self._record(job, "dead", reason)
        if result.outcome == "dead":  # written once, fenced by the lease: told once
            self._alerts.job_dead(job, reason)
        return result

    async def _record(
        self,
        job: Job,
        outcome: str,
        error: str | None,
        *,
        retry_at: datetime | None = None,
        counted: bool = True,
    ) -> RunResult:
        """Write the run's outcome, fenced by our lease."""
        try:
            # The worker's clock, so first_failed_at and run_at share one time line.
            now = self._clock()
            if outcome == "done":
                await self.queue.complete(job, self.owner, now=now)
            else:
                await self.queue.fail(
                    job, self.owner, error or "", retry_at=retry_at, counted=counted, now=now
                )
        except LeaseLost as exc:
            return RunResult("lease_lost", str(exc))
        except Exception as exc:  # noqa: BLE001 - logged in the job's summary line
            # The lease will expire and the job will run again; idempotency covers it.
            return RunResult("error", f"could not record outcome {outcome}: {exc}", exc=exc)
        return RunResult(outcome, error)

    def _heartbeat(self, jobs: list[Job]) -> Coroutine[None, None, None]:
        return keep_leases(self.queue, jobs, self.owner, self.lease_seconds, self._clock)


def _is_done(error: Exception) -> bool:
    return isinstance(error, Conflict)  # the effect already exists: that is success


_IDLE_RECHECK_SECONDS = 0.05
_IMMINENT_SECONDS = 1.0
