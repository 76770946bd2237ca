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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.email import EmailConnector
from connectors.github import GitHubDocuments
from connectors.google_calendar.connector import GoogleCalendarConnector
from connectors.google_docs import GoogleDocsDocuments
from connectors.incidentio.config import IncidentIoConfig
from connectors.incidentio.connector import IncidentIoConnector
from connectors.incidentio.history import IncidentIoIncidentLog
from connectors.jira.connector import JiraConnector
from connectors.pagerduty.config import PagerDutyConfig
from connectors.pagerduty.connector import PagerDutyConnector
from connectors.pagerduty.history import PagerDutyIncidentLog
from connectors.slack.connector import SlackConnector
from connectors.slack.history import SlackChannelHistory
from connectors.slack.notifier import SlackNotifier
from connectors.statuspage.connector import StatuspageConnector
from hub.app_numbers import PUBLISHERS, counted, digest_runner
from hub.config import Settings
from hub.engine.actions import decisions
from hub.engine.actions.commands import CommandExecutor
from hub.engine.actions.followups import FollowUpHandler, flag_performer
from hub.engine.actions.transitions import PostMortemActions
from hub.engine.digest import DigestRunner
from hub.engine.documents import DocumentLibrary, DocumentsFactory
from hub.engine.effects import EffectRunner, Performer
from hub.engine.history import ChatUser, HistoryReaders
from hub.engine.performers.calendar import calendar_performers
from hub.engine.performers.cancel import cancel_performers
from hub.engine.performers.chat import chat_performers
from hub.engine.performers.document import document_performers, offer_performers
from hub.engine.performers.lifecycle import lifecycle_performers
from hub.engine.performers.mail import mail_performers
from hub.engine.performers.publish import publish_performers
from hub.engine.performers.tracker import tracker_performers
from hub.engine.performers.vendor import vendor_performers
from hub.engine.reconcile import Reconciler
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
from hub.model.command import Command
from hub.model.followup_event import FollowUpFact
from hub.model.incident import Person
from hub.model.intent import IntentKind
from hub.model.vendor_status import VendorStatusFact
from hub.ops_channel import slack_poster
from hub.pacing import pacer_for
from hub.policy import PolicySet, load_policies
from hub.ports import Calendar, Documents, Notifier
from hub.runtime import Runtime, utc_now
from hub.store.db import create_engine
from hub.store.migrate import upgrade
from hub.web import admin, health
from hub.web.keys import FRONT_DOOR, METRICS, RUNTIME
from hub.web.listeners import listener_split_middleware
from hub.web.middleware import request_context_middleware

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
            await _wire_calendar(wiring, core)  # first: `/postmortem meeting` reads it
            await _wire_chat(wiring, core)
            await _wire_tracker(wiring, core)
            await _wire_documents(wiring, core)
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
    if (pd := _pagerduty_api(settings)) is not None:
        pagerduty = PagerDutyConnector.from_config(pd)
        stack.push_async_callback(pagerduty.close)
    if (io := _incidentio_api(settings)) is not None:
        incidentio = IncidentIoConnector.from_config(io, session)
    return Sources(pagerduty=pagerduty, incidentio=incidentio)


@dataclass(frozen=True)
class Core:
    """What every part of the wiring may use: made once at start, closed by `stack`."""

    settings: Settings
    session: aiohttp.ClientSession
    stack: AsyncExitStack
    engine: AsyncEngine
    queue: JobQueue
    policies: PolicySet
    clock: Callable[[], datetime]
    metrics: Metrics | None = None


@dataclass
class Wiring:
    """What the configured connectors contribute: performers per intent kind, and the
    handlers for what people decide in Slack and what trackers report."""

    performers: dict[IntentKind, Performer] = field(default_factory=dict)
    on_command: Callable[[Command, str], Awaitable[None]] | None = None
    on_follow_up: Callable[[FollowUpFact, str], Awaitable[None]] | None = None
    calendar: Calendar | None = None  # read when a person links a meeting they booked
    documents: DocumentLibrary | None = None  # the post-mortem document's tools
    notifier: Notifier | None = None
    ops_post: Callable[[str], Awaitable[object]] | None = None  # worker.alert_channel
    # Which connector carries out each kind (issue 15: written on effect jobs, and the
    # label of their failures on /metrics).
    connectors: dict[IntentKind, str] = field(default_factory=dict)

    def add(self, connector: str, performers: Mapping[IntentKind, Performer]) -> None:
        self.performers.update(performers)
        self.connectors.update(dict.fromkeys(performers, connector))


async def _wire_chat(wiring: Wiring, core: Core) -> None:
    """Slack: notifications and the /postmortem command (when `connectors.slack` is set)."""
    section = core.settings.connectors.slack
    if section is None:
        return
    pacer = pacer_for(core.engine, section.post_interval_seconds, namespace="slack")
    chat = SlackConnector.from_config(section, core.session, pacer=pacer)
    notifier = SlackNotifier(chat, section)
    wiring.notifier = notifier
    if (channel := core.settings.worker.alert_channel) is not None:
        wiring.ops_post = slack_poster(chat, channel)
    wiring.add("slack", chat_performers(notifier))
    wiring.add("slack", offer_performers(notifier))
    actions = PostMortemActions(
        core.engine, core.queue, core.policies, clock=core.clock, documents=wiring.documents
    )
    wiring.on_command = CommandExecutor(
        core.engine, actions, notifier, core.policies, clock=core.clock, calendar=wiring.calendar
    )


def _pagerduty_api(settings: Settings) -> PagerDutyConfig | None:
    section = settings.sources.pagerduty
    return section.api_config() if section is not None else None


def _incidentio_api(settings: Settings) -> IncidentIoConfig | None:
    section = settings.sources.incidentio
    return section.api_config() if section is not None else None


def document_library(settings: Settings, stack: AsyncExitStack) -> DocumentLibrary | None:
    """The configured document tools (`connectors.google_docs`, `connectors.github`), each
    making one connector per location a policy names (a folder, a repository)."""
    factories: dict[str, DocumentsFactory] = {}
    docs, github = settings.connectors.google_docs, settings.connectors.github
    if docs is not None:

        def google_docs(location: str | None) -> Documents:
            config = docs.model_copy(update={"folder_id": location}) if location else docs
            made = GoogleDocsDocuments.from_config(config)
            stack.push_async_callback(made.close)
            return made

        factories["google_docs"] = google_docs
    if github is not None:

        def github_documents(location: str | None) -> Documents:
            repository, _, folder = (location or "").partition(":")
            changes = {"repository": repository} if repository else {}
            if folder:
                changes["path"] = folder
            return GitHubDocuments.from_config(github.model_copy(update=changes))

        factories["github"] = github_documents
    return DocumentLibrary(factories) if factories else None


async def _wire_documents(wiring: Wiring, core: Core) -> None:
    """The post-mortem document (its history read from the sources' APIs and the Slack
    channel) and the results email, when their connectors are configured."""
    settings = core.settings
    if wiring.documents is not None:
        # The tool's name when one is configured; both: the label says "documents".
        tools = [name for name in ("google_docs", "github") if getattr(settings.connectors, name)]
        wiring.add(
            tools[0] if len(tools) == 1 else "documents",
            document_performers(
                wiring.documents,
                history_readers(
                    settings,
                    core.session,
                    core.stack,
                    wiring.notifier.chat_user if wiring.notifier is not None else None,
                ),
                core.policies,
                core.clock,
            ),
        )
    if (email := settings.connectors.email) is not None:
        mailer = EmailConnector.from_config(email)
        wiring.add("email", mail_performers(mailer, wiring.documents, core.policies, core.clock))


def history_readers(
    settings: Settings,
    session: aiohttp.ClientSession,
    stack: AsyncExitStack,
    chat_user: ChatUser | None = None,
) -> HistoryReaders:
    """What reads an incident's history for its document (read only; `pmhub simulate
    --enrich` uses it too): the sources' APIs, and the Slack channel."""
    pagerduty = incidentio = slack = None
    if (pd := _pagerduty_api(settings)) is not None:
        pagerduty = PagerDutyIncidentLog.from_config(pd)
        stack.push_async_callback(pagerduty.close)
    if (io := _incidentio_api(settings)) is not None:
        incidentio = IncidentIoIncidentLog.from_config(io, session)
    if (slack_config := settings.connectors.slack) is not None:
        slack = SlackChannelHistory.from_config(slack_config, session)
        if chat_user is None:
            people = SlackConnector.from_config(slack_config, session)

            async def chat_user(person: Person) -> str | None:
                return await people.lookup_user(person.email) if person.email else None

    return HistoryReaders(pagerduty, incidentio, slack, chat_user)


async def _wire_calendar(wiring: Wiring, core: Core) -> None:
    """Google Calendar: the post-mortem meeting (when `connectors.google_calendar` is set)."""
    config = core.settings.connectors.google_calendar
    if config is None:
        return
    calendar = GoogleCalendarConnector.from_config(config)
    core.stack.push_async_callback(calendar.close)
    performers = {
        **calendar_performers(calendar, core.policies, core.clock),
        **cancel_performers(calendar),
    }
    wiring.add("google_calendar", performers)
    wiring.calendar = calendar


async def _wire_tracker(wiring: Wiring, core: Core) -> None:
    """Jira follow-ups, the status page, PagerDuty notes (when configured)."""
    settings = core.settings
    tracker: JiraConnector | None = None
    if (jira := settings.connectors.jira) is not None:
        tracker = JiraConnector.from_config(jira)
        core.stack.push_async_callback(tracker.close)
        wiring.add("jira", tracker_performers(tracker))
    status_page: StatuspageConnector | None = None
    if (config := settings.connectors.statuspage) is not None:
        # One pacer per API key for the daemon: Statuspage's limit is per key.
        pacer = pacer_for(core.engine, config.min_interval_seconds, namespace="statuspage")
        status_page = StatuspageConnector.from_config(config, core.session, pacer=pacer)
    notes: PagerDutyConnector | None = None
    if (pd := _pagerduty_api(settings)) is not None and pd.from_email is not None:
        # Its own client (not the enrichment one): notes are written by effect jobs
        # and must not queue behind incident look-ups in the same worker threads.
        notes = PagerDutyConnector.from_config(pd)
        core.stack.push_async_callback(notes.close)
    published = publish_performers(status_page=status_page, notes=notes, clock=core.clock)
    for kind, connector in PUBLISHERS.items():
        wiring.add(connector, {k: v for k, v in published.items() if k is kind})
    # Follow-up facts matter without Jira too (incident.io follow-ups fill the list).
    wiring.on_follow_up = FollowUpHandler(
        core.engine,
        core.queue,
        core.policies,
        tracker=tracker,
        tracker_url=jira.url if jira is not None else None,
        clock=core.clock,
    )


def _performers(wiring: Wiring, metrics: Metrics | None) -> dict[IntentKind, Performer]:
    """The connectors' performers; a flagged follow-up keeps its reason with or without chat."""
    flag = flag_performer(wiring.performers.get(IntentKind.FLAG_FOLLOWUP))
    performers = {**wiring.performers, IntentKind.FLAG_FOLLOWUP: flag}
    return counted(performers, wiring.connectors, metrics) if metrics else performers


def _handlers(core: Core, sources: Sources, wiring: Wiring) -> dict[str, JobHandler]:
    engine, queue, policies, clock = core.engine, core.queue, core.policies, core.clock
    gatherer = FactGatherer(sources, adapter_options(policies, core.settings), clock)
    reconciler = Reconciler(engine, queue, policies, clock=clock, connector_of=wiring.connectors)
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
        clock=clock,
        under_pressure=under_pressure,
        observer=metrics,
    )
