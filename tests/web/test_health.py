"""Liveness, readiness and metrics, as an operator's probes see them."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from hub.jobs.pauses import pause, resume
from tests.support.daemon import running_daemon, write_config
from tests.support.signing import pagerduty_delivery


async def test_healthz_answers(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        response = await daemon.client.get("/healthz")
        assert response.status == 200
        assert (await response.json())["status"] == "ok"


async def test_readyz_is_ready_with_database_migrations_and_worker(
    tmp_path: Path, db_url: str
) -> None:
    async with running_daemon(write_config(tmp_path, db_url)) as daemon:
        response = await daemon.client.get("/readyz")
        body = await response.json()
        assert response.status == 200, body
        assert body["checks"] == {"database": "ok", "migrations": "ok", "worker": "ok"}


async def test_readyz_is_503_without_a_worker(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        response = await daemon.client.get("/readyz")
        assert response.status == 503
        assert "worker" in (await response.json())["reason"]


async def _make_database_disappear(db_url: str) -> None:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        db_file = Path(url.database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        db_file.mkdir()  # a directory where the file was: SQLite cannot open it
        return
    server = url.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_readyz_is_503_when_the_database_is_gone(tmp_path: Path, empty_db_url: str) -> None:
    db_url = empty_db_url  # a database of its own: this test destroys it
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        await daemon.runtime.engine.dispose()  # drop pooled connections, as a restart would
        await _make_database_disappear(db_url)
        response = await daemon.client.get("/readyz")
        body = await response.json()
        assert response.status == 503
        assert body["checks"]["database"].startswith("unreachable")
        # And the front door says so honestly instead of acknowledging what it did not store.
        delivery, headers = pagerduty_delivery()
        webhook = await daemon.client.post("/webhooks/pagerduty", data=delivery, headers=headers)
        assert webhook.status == 503
        assert webhook.headers["Retry-After"]
    if make_url(db_url).get_backend_name() == "sqlite":
        shutil.rmtree(make_url(db_url).database or "", ignore_errors=True)


async def test_metrics_report_deliveries_and_queue(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        body, headers = pagerduty_delivery()
        assert (
            await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
        ).status == 202
        response = await daemon.client.get("/metrics")
        assert response.status == 200
        text = await response.text()
        assert 'pmhub_webhook_deliveries_total{outcome="accepted",source="pagerduty"}' in text
        assert 'pmhub_jobs{kind="ingest",state="pending"} 1.0' in text
        assert "pmhub_queue_depth 1.0" in text
        assert "pmhub_oldest_pending_job_age_seconds" in text
        assert "pmhub_http_request_duration_seconds_bucket" in text


async def test_metrics_show_a_paused_connector_until_it_resumes(
    tmp_path: Path, db_url: str
) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        engine, now = daemon.runtime.engine, daemon.runtime.clock()
        await pause(engine, "slack", "AuthFailed: invalid_auth", now=now, probe_at=now)
        paused = await (await daemon.client.get("/metrics")).text()
        await resume(engine, "slack", now=now)
        resumed = await (await daemon.client.get("/metrics")).text()
    assert 'pmhub_connector_paused{connector="slack"} 1.0' in paused
    assert 'pmhub_connector_paused{connector="slack"}' not in resumed
