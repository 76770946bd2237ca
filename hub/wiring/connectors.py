"""Wiring, per vendor: what each configured connector adds to the daemon.

`hub.app.create_app` makes the shared resources (`Core`: settings, engine, HTTP
session, queue, policies) and asks each `wire_*` here to add its performers, readers
and handlers to the `Wiring`; a connector that is not configured adds nothing. Like
`hub.app`, this module may import connectors: it hands each its settings section.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.email import EmailConnector
from connectors.github import GitHubDocuments
from connectors.google_calendar.connector import GoogleCalendarConnector
from connectors.google_docs import GoogleDocsDocuments
from connectors.incidentio.config import IncidentIoConfig
from connectors.incidentio.history import IncidentIoIncidentLog
from connectors.jira.connector import JiraConnector
from connectors.pagerduty.config import PagerDutyConfig
from connectors.pagerduty.connector import PagerDutyConnector
from connectors.pagerduty.history import PagerDutyIncidentLog
from connectors.slack.connector import SlackConnector
from connectors.slack.history import SlackChannelHistory
from connectors.slack.notifier import SlackNotifier
from connectors.statuspage.connector import StatuspageConnector
from hub.config import Settings
from hub.engine.actions.commands import CommandExecutor
from hub.engine.actions.followups import FollowUpHandler
from hub.engine.actions.transitions import PostMortemActions
from hub.engine.documents import DocumentLibrary, DocumentsFactory
from hub.engine.effects import Performer
from hub.engine.history import ChatUser, HistoryReaders
from hub.engine.performers.calendar import calendar_performers
from hub.engine.performers.cancel import cancel_performers
from hub.engine.performers.chat import chat_performers
from hub.engine.performers.document import document_performers, offer_performers
from hub.engine.performers.mail import mail_performers
from hub.engine.performers.publish import publish_performers
from hub.engine.performers.rollup import AnnouncementCoalescer, rollup_threshold
from hub.engine.performers.tracker import tracker_performers
from hub.jobs.queue import JobQueue
from hub.metrics import Metrics
from hub.model.command import Command
from hub.model.followup_event import FollowUpFact
from hub.model.incident import Person
from hub.model.intent import IntentKind
from hub.policy import PolicySet
from hub.ports import Calendar, Documents, Notifier
from hub.wiring.numbers import PUBLISHERS
from hub.wiring.ops_channel import slack_poster
from hub.wiring.pacing import pacer_for

log = structlog.get_logger("pmhub.app")


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
    # The enrichment's PagerDuty connector: the timeline reuses its reads (issue 16).
    pagerduty: PagerDutyConnector | None = None

    def add(self, connector: str, performers: Mapping[IntentKind, Performer]) -> None:
        self.performers.update(performers)
        self.connectors.update(dict.fromkeys(performers, connector))


async def wire_chat(wiring: Wiring, core: Core) -> None:
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
    threshold = rollup_threshold(section.post_interval_seconds)
    coalescer = AnnouncementCoalescer(core.engine, threshold=threshold)
    wiring.add("slack", chat_performers(notifier, coalescer=coalescer))
    wiring.add("slack", offer_performers(notifier))
    actions = PostMortemActions(
        core.engine, core.queue, core.policies, clock=core.clock, documents=wiring.documents
    )
    wiring.on_command = CommandExecutor(
        core.engine, actions, notifier, core.policies, clock=core.clock, calendar=wiring.calendar
    )


def pagerduty_api(settings: Settings) -> PagerDutyConfig | None:
    section = settings.sources.pagerduty
    return section.api_config() if section is not None else None


def incidentio_api(settings: Settings) -> IncidentIoConfig | None:
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


async def wire_documents(wiring: Wiring, core: Core) -> None:
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
                    pagerduty_enrichment=wiring.pagerduty,
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
    *,
    pagerduty_enrichment: PagerDutyConnector | None = None,
) -> HistoryReaders:
    """What reads an incident's history for its document (read only; `pmhub simulate
    --enrich` uses it too): the sources' APIs, and the Slack channel. PagerDuty's log is
    read through the enrichment's connector when given: what it read at the resolution
    is not read again."""
    pagerduty = incidentio = slack = None
    if pagerduty_enrichment is not None:
        pagerduty = PagerDutyIncidentLog.sharing(pagerduty_enrichment)
    elif (pd := pagerduty_api(settings)) is not None:
        pagerduty = PagerDutyIncidentLog.from_config(pd)
        stack.push_async_callback(pagerduty.close)
    if (io := incidentio_api(settings)) is not None:
        incidentio = IncidentIoIncidentLog.from_config(io, session)
    if (slack_config := settings.connectors.slack) is not None:
        slack = SlackChannelHistory.from_config(slack_config, session)
        if chat_user is None:
            people = SlackConnector.from_config(slack_config, session)

            async def chat_user(person: Person) -> str | None:
                return await people.lookup_user(person.email) if person.email else None

    return HistoryReaders(pagerduty, incidentio, slack, chat_user)


async def wire_calendar(wiring: Wiring, core: Core) -> None:
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


async def wire_tracker(wiring: Wiring, core: Core) -> None:
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
    if (pd := pagerduty_api(settings)) is not None and pd.from_email is not None:
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
