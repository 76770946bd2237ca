"""`pmhub jobs list|retry|pauses|resume-connector`: dead letters and paused connectors."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli.common import config_option, load_or_exit, with_store
from hub.jobs.pauses import Pause, list_pauses, resume
from hub.jobs.queue import Job, JobQueue, JobState
from hub.runtime import utc_now

_ERROR_WIDTH = 80


def _line(job: Job) -> str:
    error = job.last_error.splitlines()[0][:_ERROR_WIDTH] if job.last_error else ""
    return (
        f"{job.id:>8}  {job.state.value:<8} {job.kind:<20} attempts={job.attempts:<3} "
        f"run_at={job.run_at.isoformat(timespec='seconds')}  {error}"
    ).rstrip()


@click.group()
def jobs() -> None:
    """Inspect and retry jobs (the dead letters); resume paused connectors."""


@jobs.command("list")
@config_option
@click.option("--state", type=click.Choice([s.value for s in JobState]), default=None)
@click.option("--kind", default=None, help="Only jobs of this kind.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
def list_jobs(config_path: Path, state: str | None, kind: str | None, limit: int) -> None:
    """List jobs, newest first."""
    settings = load_or_exit(config_path)

    async def work(engine: AsyncEngine) -> list[Job]:
        wanted = JobState(state) if state else None
        return await JobQueue(engine).list_jobs(state=wanted, kind=kind, limit=limit)

    found = with_store(settings, work)
    for job in found:
        click.echo(_line(job))
    if not found:
        click.echo("no jobs", err=True)


@jobs.command("retry")
@config_option
@click.argument("job_id", type=int)
def retry_job(config_path: Path, job_id: int) -> None:
    """Send a dead job back to the queue, its attempts reset."""
    settings = load_or_exit(config_path)

    async def work(engine: AsyncEngine) -> bool:
        return await JobQueue(engine).retry(job_id, utc_now())

    if not with_store(settings, work):
        click.echo(f"job {job_id} is not dead (or does not exist); nothing to retry", err=True)
        sys.exit(1)
    click.echo(f"job {job_id} is pending again")


@jobs.command("pauses")
@config_option
def list_connector_pauses(config_path: Path) -> None:
    """List connectors paused by refused credentials (their jobs are waiting)."""
    settings = load_or_exit(config_path)
    found: list[Pause] = with_store(settings, list_pauses)
    for p in found:
        click.echo(
            f"{p.connector:<20} paused_at={p.paused_at.isoformat(timespec='seconds')} "
            f"next_probe={p.probe_at.isoformat(timespec='seconds')}  {p.reason}"
        )
    if not found:
        click.echo("no paused connectors", err=True)


@jobs.command("resume-connector")
@config_option
@click.argument("connector")
def resume_connector(config_path: Path, connector: str) -> None:
    """Resume a paused connector now (after fixing its credentials); its jobs run again."""
    settings = load_or_exit(config_path)

    async def work(engine: AsyncEngine) -> bool:
        return await resume(engine, connector, now=utc_now())

    if not with_store(settings, work):
        click.echo(f"connector {connector!r} is not paused; nothing to resume", err=True)
        sys.exit(1)
    click.echo(f"connector {connector!r} resumed; its waiting jobs are due now")
