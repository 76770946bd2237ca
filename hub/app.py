"""Wiring: the aiohttp application, its shared resources and their lifetimes.

Everything long-lived (database engine, the one outbound HTTP session, vendor
clients, worker) is made and closed in one `cleanup_ctx`, in dependency order, so
a shutdown (SIGTERM/SIGINT via `web.run_app`) stops leasing, lets running jobs
finish up to the configured bound, releases the rest, and only then closes the
clients and the database. This is the one module of the core that imports
connectors: it hands each configured vendor its section of the settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime, timedelta

import aiohttp
import structlog
from aiohttp import web

from connectors.incidentio.connector import IncidentIoConnector
from connectors.pagerduty.connector import PagerDutyConnector
from hub.config import Settings
from hub.engine.actions import decisions
from hub.engine.actions.followups import flag_performer
from hub.engine.actions.transitions import PostMortemActions
from hub.engine.digest import DigestRunner
from hub.engine.effects import EffectRunner, Performer
from hub.engine.performers.lifecycle import lifecycle_performers
from hub.engine.performers.vendor import vendor_performers
from hub.engine.reconcile import RECONCILE_FOLD_SECONDS, Reconciler
from hub.intake.adapters import AdapterOptions, IncidentIoOptions
from hub.intake.frontdoor import FrontDoor
from hub.intake.inbox_writer import InboxWriter
from hub.intake.ingest import FactGatherer, Ingestor, Sources
from hub.intake.verifiers import Verifier, build_verifiers
from hub.jobs.alerts import ChannelAlerts, LogAlerts
from hub.jobs.kinds import DIGEST, EFFECT, INGEST, RECONCILE, RETENTION
from hub.jobs.queue import JobQueue
from hub.jobs.retention import RetentionRunner
from hub.jobs.retrying import RetryPolicy
from hub.jobs.worker import JobHandler, Worker
from hub.metrics import Metrics
from hub.model.intent import IntentKind
from hub.model.vendor_status import VendorStatusFact
from hub.policy import PolicySet, load_policies
from hub.runtime import Runtime, utc_now
from hub.store.db import create_engine
from hub.store.migrate import upgrade
from hub.web import admin, health
from hub.web.keys import FRONT_DOOR, METRICS, RUNTIME
from hub.web.listeners import listener_split_middleware
from hub.web.middleware import request_context_middleware
from hub.wiring.connectors import (
    Core,
    Wiring,
    document_library,
    incidentio_api,
    pagerduty_api,
    wire_calendar,
    wire_chat,
    wire_documents,
    wire_tracker,
)
from hub.wiring.numbers import counted, digest_runner

log = structlog.get_logger("pmhub.app")


def create_app(
    settings: Settings,
    *,
    verifiers: Mapping[str, Verifier] | None = None,
    extra_handlers: Mapping[str, JobHandler] | None = None,
    policies: PolicySet | None = None,
    clock: Callable[[], datetime] = utc_now,
    run_worker: bool = True,
    admin_port: int | None = None,
) -> web.Application:
    """Build the daemon's application; nothing is opened until it starts.

    `admin_port`: the port the admin listener is bound to (`Listeners.admin_port`), when
    `server.admin_port` is 0; otherwise the configured one is used.
    """
    metrics = Metrics()
    split_at = admin_port if admin_port is not None else settings.server.admin_port
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[
            request_context_middleware(metrics),
            listener_split_middleware(split_at),
            admin.admin_auth_middleware(),
        ],
    )
    app[METRICS] = metrics
    chosen = dict(verifiers) if verifiers is not None else build_verifiers(settings.sources)
    # The CLI passes the policies it has already validated; otherwise read them here.
    policy_set = (
        policies if policies is not None else load_policies(settings.policies, settings.teams)
    )

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            engine = create_engine(settings.store.url)
            stack.push_async_callback(engine.dispose)
            await upgrade(engine)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            sources = await build_sources(settings, session, stack)
            queue = JobQueue(engine)
            core = Core(settings, session, stack, engine, queue, policy_set, clock, metrics)
            wiring = Wiring(documents=document_library(settings, stack))
            if isinstance(sources.pagerduty, PagerDutyConnector):
                wiring.pagerduty = sources.pagerduty  # the timeline reuses its reads
            await wire_calendar(wiring, core)  # first: `/postmortem meeting` reads it
            await wire_chat(wiring, core)
            await wire_tracker(wiring, core)
            await wire_documents(wiring, core)
            handlers = _handlers(core, sources, wiring)
            timers = _timers(core, wiring, handlers)  # digests (issue 15), retention (issue 12)
            inbox = InboxWriter(engine, clock)
            inbox.start()
            stack.push_async_callback(inbox.stop)
            all_handlers = {**handlers, **(extra_handlers or {})}
            worker = _make_worker(
                settings, queue, all_handlers, clock, under_pressure=inbox.busy, metrics=metrics
            )
            worker.use_alerts(ChannelAlerts(wiring.ops_post) if wiring.ops_post else LogAlerts())
            app[FRONT_DOOR] = FrontDoor(
                verifiers=chosen,
                accept=inbox.accept,
                wake=worker.wake,
                count=metrics.count_delivery,
                clock=clock,
                max_body_bytes=settings.server.max_body_bytes,
                body_timeout_seconds=settings.server.body_timeout_seconds,
            )
            app[RUNTIME] = Runtime(
                settings=settings,
                engine=engine,
                queue=queue,
                worker=worker,
                verifiers=chosen,
                inbox=inbox,
                actions=PostMortemActions(
                    engine, queue, policy_set, clock=clock, documents=wiring.documents
                ),
                policies=policy_set,
                clock=clock,
                calendar=wiring.calendar,
            )
            for schedule in timers if run_worker else []:
                await schedule()
            if run_worker:
                await worker.start()
            log.info("pmhub.started", sources=sorted(chosen), worker=run_worker)
            try:
                yield
            finally:
                await worker.stop(settings.worker.shutdown_grace_seconds)
                log.info("pmhub.stopped")

    app.cleanup_ctx.append(runtime_ctx)
    app.router.add_post("/webhooks/{source:.+}", _webhook)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", health.metrics)
    admin.add_routes(app)
    return app


async def _webhook(request: web.Request) -> web.StreamResponse:
    return await request.app[FRONT_DOOR].handle(request)


def adapter_options(policies: PolicySet, settings: Settings | None = None) -> AdapterOptions:
    """How the adapters read vendor values: the policies' `severities` feed the mapping;
    `sources.incidentio.followup_priorities` names incident.io's follow-up priorities."""
    incidentio = settings.sources.incidentio if settings is not None else None
    if incidentio is None:
        return AdapterOptions(severity_map=policies.severity_map())
    return AdapterOptions(
        severity_map=policies.severity_map(),
        incidentio=IncidentIoOptions(follow_up_priorities=dict(incidentio.followup_priorities)),
    )


async def build_sources(
    settings: Settings, session: aiohttp.ClientSession, stack: AsyncExitStack
) -> Sources:
    """Vendor APIs for enrichment, for the sources that have API credentials."""
    pagerduty = incidentio = None
    # Each section extends the connector's own model: no field is copied by hand.
    if (pd := pagerduty_api(settings)) is not None:
        pagerduty = PagerDutyConnector.from_config(pd)
        stack.push_async_callback(pagerduty.close)
    if (io := incidentio_api(settings)) is not None:
        incidentio = IncidentIoConnector.from_config(io, session)
    return Sources(pagerduty=pagerduty, incidentio=incidentio)


def _performers(wiring: Wiring, metrics: Metrics | None) -> dict[IntentKind, Performer]:
    """The connectors' performers; a flagged follow-up keeps its reason with or without chat."""
    flag = flag_performer(wiring.performers.get(IntentKind.FLAG_FOLLOWUP))
    performers = {**wiring.performers, IntentKind.FLAG_FOLLOWUP: flag}
    return counted(performers, wiring.connectors, metrics) if metrics else performers


def _handlers(core: Core, sources: Sources, wiring: Wiring) -> dict[str, JobHandler]:
    engine, queue, policies, clock = core.engine, core.queue, core.policies, core.clock
    gatherer = FactGatherer(sources, adapter_options(policies, core.settings), clock)
    reconciler = Reconciler(
        engine,
        queue,
        policies,
        clock=clock,
        connector_of=wiring.connectors,
        fold_seconds=RECONCILE_FOLD_SECONDS,
    )
    actions = PostMortemActions(engine, queue, policies, clock=clock, documents=wiring.documents)

    async def on_vendor_status(fact: VendorStatusFact, origin: str) -> None:
        await decisions.record_vendor_status(actions, fact, origin)

    ingestor = Ingestor(
        engine,
        queue,
        gatherer,
        clock=clock,
        on_command=wiring.on_command,
        on_follow_up=wiring.on_follow_up,
        on_vendor_status=on_vendor_status,
    )
    # pmhub's own moves (a default applied, incident.io followed) and incident.io's
    # document status written back, where its API key is configured.
    wiring.add("pmhub", lifecycle_performers(actions))
    if sources.incidentio is not None:
        wiring.add("incidentio", vendor_performers(sources.incidentio))
    return {
        INGEST: ingestor,
        RECONCILE: reconciler,
        EFFECT: EffectRunner(
            engine,
            policies,
            _performers(wiring, core.metrics),
            clock=clock,
            reconcile=reconciler.request,
            connector_of=wiring.connectors,
            owner_dm_first=True,
        ),
    }


def _timers(
    core: Core, wiring: Wiring, handlers: dict[str, JobHandler]
) -> list[Callable[[], Awaitable[None]]]:
    """Register the timer jobs' handlers; what queues each one's next run at start."""
    schedules: list[Callable[[], Awaitable[None]]] = []
    digests = _digests(core, wiring)  # the weekly digest per team
    if digests is not None:
        handlers[DIGEST] = digests
        schedules.append(digests.schedule_all)
    retention = _retention(core)  # what months unattended would pile up
    if retention is not None:
        handlers[RETENTION] = retention
        schedules.append(retention.schedule)
    return schedules


def _retention(core: Core) -> RetentionRunner | None:
    """The retention timer (`retention:` in pmhub.yaml), unless turned off."""
    config = core.settings.retention
    if not config.enabled:
        return None
    return RetentionRunner(
        core.engine,
        config.horizons(),
        every=timedelta(minutes=config.every_minutes),
        batch_size=config.batch_size,
        clock=core.clock,
        on_removed=core.metrics.count_retention if core.metrics is not None else None,
    )


def _digests(core: Core, wiring: Wiring) -> DigestRunner | None:
    """The weekly digest (`digest:` in pmhub.yaml) of every team `teams:` defines."""
    return digest_runner(
        core.settings,
        core.engine,
        core.queue,
        core.policies,
        notifier=wiring.notifier,
        clock=core.clock,
    )


def _make_worker(
    settings: Settings,
    queue: JobQueue,
    handlers: Mapping[str, JobHandler],
    clock: Callable[[], datetime],
    *,
    under_pressure: Callable[[], bool],
    metrics: Metrics,
) -> Worker:
    cfg = settings.worker
    return Worker(
        queue,
        handlers,
        concurrency=cfg.concurrency,
        retry_policy=RetryPolicy.configured(
            horizon_hours=cfg.retry_horizon_hours,
            backoff_base_seconds=cfg.backoff_base_seconds,
            backoff_max_seconds=cfg.backoff_max_seconds,
            max_attempts=cfg.max_attempts,
            auth_probe_seconds=cfg.auth_probe_seconds,
        ),
        lease_seconds=cfg.lease_seconds,
        poll_interval_seconds=cfg.poll_interval_seconds,
        linger_seconds=cfg.linger_seconds,
        clock=clock,
        under_pressure=under_pressure,
        observer=metrics,
    )
