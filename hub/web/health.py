"""`/healthz` (the process answers), `/readyz` (it can do its job), `/metrics`."""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hub import __version__
from hub.jobs.pauses import list_pauses
from hub.metrics.process import process_snapshot
from hub.store.migrate import is_current
from hub.web.keys import METRICS, RUNTIME

log = structlog.get_logger("pmhub.health")
_DB_CHECK_TIMEOUT = 2.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(_DB_CHECK_TIMEOUT):
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            current = await is_current(runtime.engine)
            checks["migrations"] = "ok" if current else "not at head: run `pmhub migrate`"
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    checks["worker"] = "ok" if runtime.worker.running else "not running"
    ready = all(value == "ok" for value in checks.values())
    problems = [f"{name}: {value}" for name, value in checks.items() if value != "ok"]
    body = {
        "status": "ready" if ready else "not ready",
        "checks": checks,
        "reason": "; ".join(problems) or None,
    }
    return web.json_response(body, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        stats = await runtime.queue.stats(runtime.clock())
        pauses = await list_pauses(runtime.engine)
    except (SQLAlchemyError, OSError):
        # Keep serving the process metrics; the queue gauges keep their last values.
        log.warning("metrics.queue_stats_failed", exc_info=True)
    else:
        request.app[METRICS].set_queue_stats(stats)
        request.app[METRICS].set_connector_pauses(p.connector for p in pauses)
    process = request.app[METRICS].process
    if process.due():  # issue 15: the process in numbers, from the store
        try:
            snapshot = await process_snapshot(runtime.engine, runtime.policies, runtime.clock())
        except (SQLAlchemyError, OSError):
            log.warning("metrics.process_snapshot_failed", exc_info=True)
        else:
            process.refresh(snapshot)
    payload = generate_latest(request.app[METRICS].registry)
    response = web.Response(body=payload)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
