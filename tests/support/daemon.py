"""The whole daemon in-process over real HTTP on loopback, for tests."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.config import Settings, load_settings
from hub.jobs.queue import JobState
from hub.jobs.worker import JobHandler
from hub.runtime import Runtime, utc_now
from hub.web.keys import RUNTIME
from tests.support.signing import PAGERDUTY_SECRET

ADMIN_TOKEN = "admin-test-token-5f0c2a"


def shifted_clock(starting_at: datetime) -> Callable[[], datetime]:
    """A clock that reads `starting_at` now and then runs at real speed.

    The daemon's worker, reconciler and policy all read this one clock, so a test can
    pin "now" to a known weekday and still see retries and timers come due.
    """
    offset = starting_at - utc_now()
    return lambda: utc_now() + offset


def write_config(directory: Path, store_url: str, *, extra: str = "", admin: bool = True) -> Path:
    """A configuration file with a PagerDuty source, the given store and optional extras."""
    admin_block = f"admin:\n  token: {ADMIN_TOKEN}\n" if admin else ""
    text = (
        textwrap.dedent(
            f"""\
            server:
              host: 127.0.0.1
              port: 0
              max_body_bytes: 65536
            store:
              url: "{store_url}"
            worker:
              concurrency: 2
              max_attempts: 3
              backoff_base_seconds: 0.05
              backoff_max_seconds: 0.2
              lease_seconds: 5
              poll_interval_seconds: 0.2
              shutdown_grace_seconds: 2
            sources:
              pagerduty:
                webhook_secrets: ["{PAGERDUTY_SECRET}"]
            """
        )
        + admin_block
        + extra
    )
    path = directory / "pmhub.yaml"
    path.write_text(text)
    return path


@dataclass
class Daemon:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    settings: Settings

    @property
    def runtime(self) -> Runtime:
        return self.app[RUNTIME]

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@asynccontextmanager
async def running_daemon(
    config_path: Path,
    *,
    run_worker: bool = True,
    extra_handlers: Mapping[str, JobHandler] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncIterator[Daemon]:
    settings = load_settings(config_path)
    app = create_app(settings, extra_handlers=extra_handlers, clock=clock, run_worker=run_worker)
    server = TestServer(app)
    client: TestClient[web.Request, web.Application] = TestClient(server)
    async with client:
        yield Daemon(client=client, app=app, settings=settings)


async def settle(daemon: Daemon, *, max_seconds: float = 60) -> None:
    """Run the daemon's work until it is quiet: nothing due, nothing running, no retry on
    its way (timers further ahead, such as reminders, stay queued). The worker's burst
    mode does it, by the daemon's own clock; then no delivery may have failed to ingest."""
    # The daemon's own leasing loop runs beside the burst: a job it takes in the instant
    # the burst looks last can be running as the burst returns. A second look waits for
    # it (a job that never finishes still fails the test, by the timeout).
    for _ in range(3):
        await daemon.runtime.worker.run_until_idle(
            max_seconds=max_seconds, retries_within=max_seconds
        )
        ingests = await daemon.runtime.queue.list_jobs(kind="ingest", limit=1000)
        if all(job.state is JobState.DONE for job in ingests):
            break
    assert all(job.state is JobState.DONE for job in ingests), [
        (job.id, job.state, job.last_error) for job in ingests if job.state is not JobState.DONE
    ]


def shorten_vendor_timeout(config: Path, connector: str, seconds: float = 1.0) -> None:
    """Give `connectors.<connector>` a short request timeout: a test of a vendor that hangs
    then waits one short timeout per attempt instead of the default ten seconds."""
    text = config.read_text()
    start = text.index("connectors:\n")
    header = f"\n  {connector}:\n"
    at = text.index(header, start - 1) + len(header)
    config.write_text(f"{text[:at]}    timeout_seconds: {seconds:g}\n{text[at:]}")
