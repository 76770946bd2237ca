"""What the operations channel hears from the job system: the rare, explained events.

A dead job and a paused connector each need a person, so each is told once: a job
dies once (its dead-letter row is written once, fenced by its lease), and a pause is
announced by the one replica whose write created it (hub.jobs.pauses). The default
sink is the log at error level (`ops.job_dead`, `ops.connector_paused`), which log-
based alerting picks up; the application can add a chat channel beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import structlog

from hub.jobs.model import Job

log = structlog.get_logger(__name__)


class JobAlerts(Protocol):
    def job_dead(self, job: Job, reason: str) -> None: ...

    def connector_paused(self, connector: str, reason: str, probe_at: datetime) -> None: ...

    def connector_resumed(self, connector: str, *, by: str) -> None: ...


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
