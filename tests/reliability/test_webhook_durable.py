"""An acknowledged webhook is never lost, even if pmhub is killed right after answering."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from hub.store.db import create_engine
from tests.support.daemon import write_config
from tests.support.signing import pagerduty_delivery

pytestmark = pytest.mark.slow
DELIVERIES = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(config: Path) -> subprocess.Popen[bytes]:
    # Logs go to a file: a pipe nobody reads would fill up and stall the daemon.
    log = (config.parent / "pmhub.log").open("ab")
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "serve", "--config", str(config)],
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


async def _wait_ready(port: int, process: subprocess.Popen[bytes], config_dir: Path) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = (config_dir / "pmhub.log").read_text()
                raise AssertionError(f"pmhub serve exited early:\n{log[-3000:]}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("pmhub serve did not become ready in 30 s")


async def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


async def test_acknowledged_deliveries_survive_sigkill(tmp_path: Path, db_url: str) -> None:
    port = _free_port()
    config = write_config(tmp_path, db_url)
    config.write_text(config.read_text().replace("port: 0", f"port: {port}"))
    process = _start(config)
    acknowledged: set[str] = set()
    try:
        await _wait_ready(port, process, tmp_path)
        async with aiohttp.ClientSession() as session:
            for n in range(DELIVERIES):
                body, headers = pagerduty_delivery(webhook_id=f"kill-{n}")
                url = f"http://127.0.0.1:{port}/webhooks/pagerduty"
                async with session.post(url, data=body, headers=headers) as response:
                    if response.status == 202:
                        acknowledged.add(f"kill-{n}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert len(acknowledged) == DELIVERIES

    # Every acknowledged delivery is in the inbox, with its ingest job.
    assert await _count(db_url, "SELECT count(*) FROM inbox") == DELIVERIES
    assert await _count(db_url, "SELECT count(*) FROM jobs WHERE kind = 'ingest'") == DELIVERIES

    # After a restart, whatever the killed process had not finished is finished.
    restarted = _start(config)
    try:
        await _wait_ready(port, restarted, tmp_path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = await _count(
                db_url, "SELECT count(*) FROM jobs WHERE kind = 'ingest' AND state = 'done'"
            )
            if done == DELIVERIES:
                break
            await asyncio.sleep(0.2)
        assert done == DELIVERIES
        processed = "SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL"
        assert await _count(db_url, processed) == DELIVERIES
    finally:
        restarted.send_signal(signal.SIGTERM)
        # Graceful shutdown on SIGTERM: exit status 0.
        assert restarted.wait(timeout=20) == 0
