"""Wiring: the aiohttp application, its shared resources and their lifetimes.

Everything long-lived (database engine, outbound HTTP session, worker) is made and
closed in one `cleanup_ctx`, in dependency order, so a shutdown (SIGTERM/SIGINT via
`web.run_app`) stops leasing, lets running jobs finish up to the configured bound,
releases the rest, and only then closes the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime

import structlog
from aiohttp import web

from hub.engine.handlers import core_handlers
from hub.engine.worker import JobHandler, Worker
from hub.intake.frontdoor import handle_webhook
from hub.intake.verifiers import Verifier, build_verifiers
from hub.runtime import Runtime, utc_now
from hub.settings import Settings
from hub.store.db import create_engine
from hub.store.jobs import JobQueue
from hub.store.migrate import upgrade
from hub.web import admin, health
from hub.web.keys import RUNTIME
from hub.web.middleware import request_context_middleware

log = structlog.get_logger("pmhub.app")


def create_app(
    settings: Settings,
    *,
    verifiers: Mapping[str, Verifier] | None = None,
    extra_handlers: Mapping[str, JobHandler] | None = None,
    clock: Callable[[], datetime] = utc_now,
    run_worker: bool = True,
) -> web.Application:
    """Build the daemon's application; nothing is opened until it starts."""
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[request_context_middleware(), admin.admin_auth_middleware()],
    )
    chosen = dict(verifiers) if verifiers is not None else build_verifiers(settings.sources)

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.store.url)
        try:
            await upgrade(engine)
            queue = JobQueue(engine)
            handlers = {**core_handlers(engine), **(extra_handlers or {})}
            worker = _make_worker(settings, queue, handlers)
            app[RUNTIME] = Runtime(
                settings=settings,
                engine=engine,
                queue=queue,
                worker=worker,
                verifiers=chosen,
                clock=clock,
            )
            if run_worker:
                await worker.start()
            log.info("pmhub.started", sources=sorted(chosen), worker=run_worker)
            try:
                yield
            finally:
                await worker.stop(settings.worker.shutdown_grace_seconds)
        finally:
            await engine.dispose()
            log.info("pmhub.stopped")

    app.cleanup_ctx.append(runtime_ctx)
    app.router.add_post("/webhooks/{source:.+}", handle_webhook)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", health.metrics)
    admin.add_routes(app)
    return app


def _make_worker(settings: Settings, queue: JobQueue, handlers: Mapping[str, JobHandler]) -> Worker:
    cfg = settings.worker
    return Worker(
        queue,
        handlers,
        concurrency=cfg.concurrency,
        max_attempts=cfg.max_attempts,
        backoff_base_seconds=cfg.backoff_base_seconds,
        backoff_max_seconds=cfg.backoff_max_seconds,
        lease_seconds=cfg.lease_seconds,
        poll_interval_seconds=cfg.poll_interval_seconds,
    )
