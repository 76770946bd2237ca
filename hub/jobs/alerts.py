"""What the operations channel hears from the job system: the rare, explained events.

A dead job and a paused connector each need a person, so each is told once: a job
dies once (its dead-letter row is written once, fenced by its lease), and a pause is
announced by the one replica whose write created it (hub.jobs.pauses). The default
sink is the log at error level (`ops.job_dead`, `ops.connector_paused`), which log-
based alerting picks up. With `worker.alert_channel` set (and Slack configured), the
same notices are posted there too (`ChannelAlerts`): a person reads them where they work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

import structlog

from hub.jobs.model import Job

log = structlog.get_logger(__name__)


class JobAlerts(Protocol):
    def job_dead(self, job: Job, reason: str) -> None: ...

    def connector_paused(self, connector: str, reason: str, probe_at: datetime) -> None: ...

    def connector_resumed(self, connector: str, *, by: str) -> None: ...

    async def drain(self) -> None:
        """Let notices still on their way finish (the worker calls it when it stops)."""


class LogAlerts:
    """The operations channel as log lines, at error level for the ones needing a person."""

    def job_dead(self, job: Job, reason: str) -> None:
        log.error(
            "ops.job_dead",
            job_id=job.id,
            job_kind=job.kind,
            dedupe_key=job.dedupe_key,
            reason=reason,
            hint="fix the cause, then `pmhub jobs retry ID` (or POST /api/v1/jobs/ID/retry)",
        )

    def connector_paused(self, connector: str, reason: str, probe_at: datetime) -> None:
        log.error(
            "ops.connector_paused",
            connector=connector,
            reason=reason,
            probe_at=probe_at.isoformat(),
            hint=f"fix the credentials, then `pmhub jobs resume-connector {connector}`; "
            "its jobs wait meanwhile",
        )

    def connector_resumed(self, connector: str, *, by: str) -> None:
        log.warning("ops.connector_resumed", connector=connector, by=by)

    async def drain(self) -> None:
        return None  # a log line is written at once


class ChannelAlerts(LogAlerts):
    """The log lines, and each notice posted to a chat channel by `post` (best effort).

    The worker tells these from inside a job's run; posting is a vendor call that may be
    slow or fail (Slack itself may be the paused connector), so it runs beside the job,
    and a failure is logged, never raised: the log line is already written.
    """

    def __init__(self, post: Callable[[str], Awaitable[object]]) -> None:
        self._post = post
        self._sending: set[asyncio.Task[None]] = set()

    def job_dead(self, job: Job, reason: str) -> None:
        super().job_dead(job, reason)
        what = f"{job.kind} job {job.id}" + (f" ({job.dedupe_key})" if job.dedupe_key else "")
        self._send(
            f":rotating_light: pmhub gave up on {what}: {reason}\n"
            f"Fix the cause, then `pmhub jobs retry {job.id}`."
        )

    def connector_paused(self, connector: str, reason: str, probe_at: datetime) -> None:
        super().connector_paused(connector, reason, probe_at)
        self._send(
            f":no_entry: pmhub paused its {connector} connector: the credentials were refused "
            f"({reason}). Its jobs are waiting; none is lost. Fix the credentials, then "
            f"`pmhub jobs resume-connector {connector}` (or wait for the next try, at "
            f"{probe_at.isoformat(timespec='minutes')})."
        )

    def connector_resumed(self, connector: str, *, by: str) -> None:
        super().connector_resumed(connector, by=by)
        self._send(f":white_check_mark: pmhub resumed its {connector} connector ({by}).")

    def _send(self, text: str) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(text))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _deliver(self, text: str) -> None:
        try:
            await self._post(text)
        except Exception:
            log.warning("ops.alert_not_posted", text=text, exc_info=True)

    async def drain(self) -> None:
        """Let notices still being posted finish, for a few seconds at most (at shutdown)."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=_DRAIN_SECONDS)


_DRAIN_SECONDS = 5.0
