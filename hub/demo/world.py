"""The sandbox's world: every vendor fake on loopback, seeded with one small company.

`pmhub demo` (and the end-to-end tests that replay the same story) run the real
daemon against these fakes. The fakes are the ones the connector tests use, so
what the demo shows is what the tests check: the vendors' documented contracts,
not a mock. PagerDuty's client refuses plain http, so its fake is served over TLS
with a throwaway certificate authority made by `trustme` for this run only; so are the
Google Docs fake (Google's client sends uploads to https) and the SMTP server's
STARTTLS (aiosmtpd, in-process), which is where the results email arrives.

The policies: the one the demo was given (PagerDuty's process by default) reads the
channel major incidents are worked in; incident.io's incident follows PostHog's shipped
process (its analysis proposed as a pull request on the GitHub fake), restricted here to
incident.io's incidents so that the two processes can run side by side.
"""

from __future__ import annotations

import base64
import secrets
import ssl
import textwrap
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import trustme
import yaml
from aiohttp import web

from connectors.common.fakeserver import start_fake
from connectors.common.faults import RandomFaults, ScriptableFake, with_random_faults
from connectors.email.fake import FakeSmtp
from connectors.github.fake import FakeGitHub
from connectors.google_calendar.fake import FakeGoogleCalendar
from connectors.google_docs.fake import FakeGoogleDocs
from connectors.incidentio.fake import FakeIncidentIo
from connectors.jira.fake import FakeJira
from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.fake import FakeSlack
from connectors.statuspage.fake import FakeStatuspage
from hub.policy.shipped import POSTHOG_PROCESS, shipped_policy


class SandboxSettings(Protocol):
    """What the world's configuration needs from the sandbox's options."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def policy_path(self) -> Path: ...
    @property
    def vendor_timeout_seconds(self) -> float: ...


@dataclass(frozen=True)
class Character:
    """One of the demo's people, with the account every fake vendor knows them by."""

    name: str
    email: str
    pagerduty_id: str
    slack_id: str
    incidentio_id: str
    jira_account: str


ALICE = Character(
    "Alice Chen",
    "alice@example.com",
    "PTUXL6G",
    "U0ALICE001",
    "01HALICE00000000000000001",
    "acc-alice",
)
BOB = Character(
    "Bob Okafor", "bob@example.com", "PVMGSML", "U0BOB00001", "01HBOB0000000000000000001", "acc-bob"
)
CAROL = Character(
    "Carol Diaz",
    "carol@example.com",
    "PCAR0L1",
    "U0CAROL001",
    "01HCAROL00000000000000001",
    "acc-carol",
)
PEOPLE = (ALICE, BOB, CAROL)
# Mailing lists from the shipped policy's directory: calendars Google knows, no Slack.
DIRECTORY = (
    "sre@example.com",
    "api-owners@example.com",
    "eng-managers@example.com",
    "product@example.com",
    "support-lead@example.com",
    "eng-learning@example.com",
    "engineering@posthog.com",
    "tim@posthog.com",
)

INCIDENTS_CHANNEL = "C0INCIDNTS"
SEARCH_CHANNEL = "C0INC45SRC"  # incident.io made a channel for its incident
WAR_ROOM = "C0MAJORINC"  # where PagerDuty's major incidents are worked
DOCS_FOLDER = "0ADemoPostmortems"
SMTP_USER, SMTP_PASSWORD = "pmhub", "demo-smtp-password"
ESCALATION_POLICY = "PUS0KTE"
JIRA_PROJECT = "PM"
# Two teams, routed apart (pmhub.yaml `teams:`): Checkout (PagerDuty's Checkout API
# service) keeps #incidents and PM; Search (incident.io's Team field) has its own.
CHECKOUT_SERVICE, CHECKOUT_COMPONENT = "Checkout API", "Checkout"
SEARCH_TEAM_CHANNEL, SEARCH_PROJECT, SEARCH_COMPONENT = "C0SEARCHTM", "SRCH", "Indexing"
STATUSPAGE_PAGE = "gytm4qzbx9t6"
PAGERDUTY_TOKEN = "pd-demo-api-token"  # noqa: S105 - the fake's own, not a credential
INCIDENTIO_KEY = "iio-demo-api-key"
CALENDAR_NAME = "Incident Post-Mortem Meetings"
NEW_YORK = ZoneInfo("America/New_York")  # the shipped policy's time zone


@dataclass(frozen=True)
class Secrets:
    """Webhook secrets for this run: made fresh, written only to the demo's config."""

    pagerduty: str
    incidentio: str
    slack: str
    jira: str
    admin_token: str

    @classmethod
    def fresh(cls) -> Secrets:
        # Svix secrets are "whsec_" and the base64 of the key's bytes.
        whsec = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        return cls(
            pagerduty=secrets.token_hex(16),
            incidentio=whsec,
            slack=secrets.token_hex(16),
            jira=secrets.token_hex(16),
            admin_token=secrets.token_urlsafe(24),
        )


@dataclass
class World:
    """The fakes, where they listen, and the CA that signed the TLS one."""

    pagerduty: FakePagerDuty
    incidentio: FakeIncidentIo
    slack: FakeSlack
    calendar: FakeGoogleCalendar
    jira: FakeJira
    statuspage: FakeStatuspage
    docs: FakeGoogleDocs
    github: FakeGitHub
    smtp: FakeSmtp
    urls: dict[str, str]
    ca_pem: Path
    secrets: Secrets

    def config_text(self, store_url: str, options: SandboxSettings) -> str:
        """The daemon's configuration for this world: every source and connector on."""
        s, u = self.secrets, self.urls
        host, port = options.host, options.port
        # Absolute, every path: the loader reads a relative one from the file's own folder.
        policy_files = self.policy_files(options.policy_path)
        policies = ", ".join(f'"{path.resolve()}"' for path in policy_files)
        ca_pem = self.ca_pem.resolve()
        timeout = options.vendor_timeout_seconds
        return textwrap.dedent(
            f"""\
            # Written by `pmhub demo` for this run: every vendor is a local fake.
            server: {{host: {host}, port: {port}}}
            store: {{url: "{store_url}"}}
            admin: {{token: {s.admin_token}}}
            worker:
              concurrency: 4
              backoff_base_seconds: 0.2
              backoff_max_seconds: 5
              poll_interval_seconds: 0.5
              shutdown_grace_seconds: 5
            log: {{level: warning, format: console}}
            sources:
              pagerduty:
                webhook_secrets: ["{s.pagerduty}"]
                api_token: {PAGERDUTY_TOKEN}
                base_url: {u["pagerduty"]}
                ca_bundle: {ca_pem}
                from_email: pmhub@example.com
              incidentio:
                webhook_secrets: ["{s.incidentio}"]
                api_key: {INCIDENTIO_KEY}
                base_url: {u["incidentio"]}
              slack: {{signing_secret: {s.slack}}}
              jira: {{webhook_secret: {s.jira}}}
            connectors:
              slack:
                bot_token: {self.slack.token}
                timeout_seconds: {timeout}
                base_url: {u["slack"]}/api/
                incidents_channel: {INCIDENTS_CHANNEL}
              google_calendar:
                calendar_id: {self.calendar.calendar_id}
                root_url: {u["calendar"]}/
                conference: true
                min_notice_minutes: 60
                timeout_seconds: {timeout}
              jira:
                url: {u["jira"]}
                email: {self.jira.email}
                api_token: {self.jira.api_token}
                project: {JIRA_PROJECT}
                priority_map: {{P0: Highest, P1: High, P2: Medium, P3: Low}}
                timeout_seconds: {timeout}
              statuspage:
                api_key: {self.statuspage.api_key}
                page_id: {STATUSPAGE_PAGE}
                base_url: {u["statuspage"]}/v1/
                mode: incident
                timeout_seconds: {timeout}
              google_docs:
                folder_id: {DOCS_FOLDER}
                root_url: {u["docs"]}/
                docs_root_url: {u["docs"]}/
                ca_bundle: {ca_pem}
                timeout_seconds: {timeout}
              github:
                repository: {self.github.owner}/{self.github.repo}
                path: analyses
                token: {self.github.token}
                base_url: {u["github"]}
                timeout_seconds: {timeout}
              email:
                host: 127.0.0.1
                port: {self.smtp.port}
                from_address: "pmhub <pmhub@example.com>"
                username: {SMTP_USER}
                password: {SMTP_PASSWORD}
                ca_bundle: {ca_pem}
                timeout_seconds: {timeout}
            teams:
              checkout:
                when: {{service: ["{CHECKOUT_SERVICE}"]}}
                targets:
                  slack: {{channel: {INCIDENTS_CHANNEL}}}
                  jira: {{project: {JIRA_PROJECT}, components: [{CHECKOUT_COMPONENT}]}}
              search:
                when: {{custom_fields: {{Team: [Search]}}}}
                targets:
                  slack: {{channel: {SEARCH_TEAM_CHANNEL}}}
                  jira: {{project: {SEARCH_PROJECT}, components: [{SEARCH_COMPONENT}]}}
            policies: [{policies}]
            """
        )

    def policy_files(self, policy: Path) -> list[Path]:
        """PostHog's process for incident.io's incidents, then the given policy (which
        reads the channel major incidents are worked in, when it leaves that open)."""
        directory = self.ca_pem.parent
        posthog = yaml.safe_load(shipped_policy(POSTHOG_PROCESS).read_text())
        for rule in posthog["rules"]:
            rule["when"] = {**(rule.get("when") or {}), "source": "incidentio"}
        posthog_file = directory / "posthog-for-incidentio.yaml"
        header = "# Written by `pmhub demo`: the shipped PostHog process, for incident.io only.\n"
        posthog_file.write_text(header + yaml.safe_dump(posthog, sort_keys=False))
        given = directory / f"given-{policy.name}"
        text = policy.read_text().replace("  # channel: C0123456789\n", f"  channel: {WAR_ROOM}\n")
        given.write_text(text)
        return [posthog_file, given]


def _seed_people(world: World) -> None:
    pd, slack, io, jira = world.pagerduty, world.slack, world.incidentio, world.jira
    for person in PEOPLE:
        pd.add_user(person.pagerduty_id, person.name, person.email)
        slack.add_user(person.slack_id, person.name, person.email)
        io.add_user(person.incidentio_id, person.name, person.email, slack_user_id=person.slack_id)
        jira.add_user(person.jira_account, person.name, person.email)
    pd.add_user("PPMHUB1", "pmhub", "pmhub@example.com")
    pd.add_oncall(ESCALATION_POLICY, ALICE.pagerduty_id, level=1, schedule=("PI7DH84", "Primary"))
    slack.add_channel(INCIDENTS_CHANNEL, "incidents")
    slack.add_channel(SEARCH_CHANNEL, "inc-45-search-results-delayed")
    slack.add_channel(WAR_ROOM, "major-incidents")
    world.docs.add_folder(DOCS_FOLDER, "Post-mortems")
    slack.add_channel(SEARCH_TEAM_CHANNEL, "search-team")
    jira.add_project(JIRA_PROJECT, "Post-mortem follow-ups", components=(CHECKOUT_COMPONENT,))
    jira.add_project(SEARCH_PROJECT, "Search", components=(SEARCH_COMPONENT,))
    world.statuspage.add_component("Checkout API", id_="8kbf7d35c070")


def busy_calendars(calendar: FakeGoogleCalendar, now: datetime) -> None:
    """Everyone's calendar, with a morning stand-up so the slot search has work to do."""
    for email in (*(p.email for p in PEOPLE), *DIRECTORY):
        calendar.add_person(email)
    today = now.astimezone(NEW_YORK).date()
    for day in range(10):
        standup = datetime.combine(today + timedelta(days=day), time(9, 0), NEW_YORK)
        calendar.busy[ALICE.email].append((standup, standup + timedelta(minutes=30)))


async def start_world(
    stack: AsyncExitStack,
    directory: Path,
    now: datetime,
    random_faults: Callable[[str], RandomFaults | None] | None = None,
) -> World:
    """Start every fake on loopback; `stack` stops them.

    `random_faults` (the chaos run) names each HTTP fake's seeded random faults, or None
    for a fake that answers faithfully; incident.io, which a PagerDuty run never calls,
    and the SMTP server are left alone."""
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    ca_pem = directory / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    world = World(
        pagerduty=FakePagerDuty(token=PAGERDUTY_TOKEN),
        incidentio=FakeIncidentIo(api_key=INCIDENTIO_KEY),
        slack=FakeSlack(min_post_interval=0.2),
        calendar=FakeGoogleCalendar(calendar_id="postmortems@group.calendar.google.com"),
        jira=FakeJira(),
        statuspage=FakeStatuspage(page_id=STATUSPAGE_PAGE, min_interval=0.2),
        docs=FakeGoogleDocs(),
        github=FakeGitHub(),
        smtp=FakeSmtp(server_tls=server_tls, users={SMTP_USER: SMTP_PASSWORD}),
        urls={},
        ca_pem=ca_pem,
        secrets=Secrets.fresh(),
    )
    _seed_people(world)
    busy_calendars(world.calendar, now)
    apps: dict[str, tuple[web.Application, ssl.SSLContext | None]] = {
        "pagerduty": (world.pagerduty.make_app(), server_tls),
        "incidentio": (world.incidentio.make_app(), None),
        "slack": (world.slack.make_app(), None),
        "calendar": (world.calendar.make_app(), None),
        "jira": (world.jira.make_app(), None),
        "statuspage": (world.statuspage.make_app(), None),
        "docs": (world.docs.make_app(), server_tls),
        "github": (world.github.make_app(), None),
    }
    faultable: dict[str, ScriptableFake] = {
        "pagerduty": world.pagerduty,
        "slack": world.slack,
        "calendar": world.calendar,
        "jira": world.jira,
        "statuspage": world.statuspage,
        "docs": world.docs,
        "github": world.github,
    }
    for name, (app, tls) in apps.items():
        faults = random_faults(name) if random_faults and name in faultable else None
        if faults is not None:
            with_random_faults(app, faultable[name], faults)
        runner, url = await start_fake(app, ssl_context=tls)
        stack.push_async_callback(runner.cleanup)
        world.urls[name] = url
    await world.smtp.start()
    stack.push_async_callback(world.smtp.stop)
    return world


def outcome_shared(world: World, ref: str) -> bool:
    """The closing message naming `ref` is in one of the channels that hear outcomes."""
    return any(
        ref in str(m.get("text", "")) and "closed" in str(m.get("text", ""))
        for channel in (INCIDENTS_CHANNEL, SEARCH_CHANNEL, SEARCH_TEAM_CHANNEL)
        for m in world.slack.posts(channel)
    )
