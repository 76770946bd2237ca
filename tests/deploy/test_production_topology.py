"""The production topology the Kubernetes kit describes, run for real: two `pmhub serve`
processes on one PostgreSQL database, each started as a pod of the rendered Deployment
(tests/deploy/pod.py), against every vendor's fake on loopback.

Each replica gets only what the manifests give a pod: the image's environment, the
Deployment's `env` and `envFrom` (the rendered site ConfigMap as it is; the Secret's keys
with test values), and its mounts (the rendered pmhub.yaml and policies; a generated
Google service-account key). On top, named below, only what a cluster provides a pod
and a test must replace: ports (each pod has its own network namespace), the vendors'
addresses (their fakes'), and a trust store holding the CA of the PagerDuty fake's TLS.

A PagerDuty incident's deliveries land on both replicas, one of them twice; afterwards
there is one incident, one post-mortem, and each effect once, counted on the fakes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.common.fakeserver import start_fake
from connectors.google_calendar.config import DEFAULT_SCOPES
from connectors.google_calendar.fake import FakeGoogleCalendar
from connectors.google_calendar.fake.oauth import FakeGoogleOAuth
from connectors.incidentio.fake import FakeIncidentIo
from connectors.jira.fake import FakeJira
from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.fake import FakeSlack
from connectors.statuspage.fake import FakeStatuspage
from hub.demo.world import ALICE, BOB, CAROL, PEOPLE, busy_calendars
from tests.deploy.manifests import REPO, config_variables, generated, render
from tests.deploy.pod import Pod, lay_out_pod
from tests.support.signing import PAGERDUTY_SECRET, pagerduty_delivery
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

INCIDENT, NUMBER, TITLE = "Q2SEARCH500", 2044, "Search API 5xx"
REFERENCE = f"PD-{NUMBER}"
ADMIN_TOKEN = "production-topology-admin-token"
ESCALATION_POLICY = "PUS0KTE"
SETUP_GUIDE = REPO / "docs" / "setup.md"
TIMEOUT = 30


@dataclass
class Vendors:
    pagerduty: FakePagerDuty
    slack: FakeSlack
    calendar: FakeGoogleCalendar
    oauth: FakeGoogleOAuth
    jira: FakeJira
    statuspage: FakeStatuspage
    incidentio: FakeIncidentIo
    urls: dict[str, str] = field(default_factory=dict)


async def start_vendors(stack: AsyncExitStack, site: dict[str, str], tls: LoopbackTls) -> Vendors:
    """Every vendor's fake on loopback, seeded with the site's own ids from the manifests."""
    token = "ya29.production-topology"
    vendors = Vendors(
        pagerduty=FakePagerDuty(token="pd-production-token"),
        slack=FakeSlack(min_post_interval=0.05),
        calendar=FakeGoogleCalendar(calendar_id=site["GOOGLE_CALENDAR_ID"], token=token),
        oauth=FakeGoogleOAuth(access_token=token),
        jira=FakeJira(email=site["JIRA_EMAIL"]),
        statuspage=FakeStatuspage(page_id=site["STATUSPAGE_PAGE_ID"], min_interval=0.05),
        incidentio=FakeIncidentIo(),
    )
    for person in PEOPLE:
        vendors.pagerduty.add_user(person.pagerduty_id, person.name, person.email)
        vendors.slack.add_user(person.slack_id, person.name, person.email)
        vendors.jira.add_user(person.jira_account, person.name, person.email)
    vendors.pagerduty.add_user("PPMHUB1", "pmhub", site["PAGERDUTY_FROM_EMAIL"])
    vendors.pagerduty.add_oncall(ESCALATION_POLICY, ALICE.pagerduty_id, level=1)
    vendors.slack.add_channel(site["SLACK_INCIDENTS_CHANNEL"], "incidents")
    vendors.jira.add_project(site["JIRA_PROJECT"], "Post-mortem follow-ups")
    busy_calendars(vendors.calendar, datetime.now(UTC))
    apps = {
        "pagerduty": (vendors.pagerduty.make_app(), tls.server_context),
        "slack": (vendors.slack.make_app(), None),
        "calendar": (vendors.calendar.make_app(), None),
        "oauth": (vendors.oauth.make_app(), None),
        "jira": (vendors.jira.make_app(), None),
        "statuspage": (vendors.statuspage.make_app(), None),
        "incidentio": (vendors.incidentio.make_app(), None),
    }
    for name, (app, context) in apps.items():
        runner, url = await start_fake(app, ssl_context=context)
        stack.push_async_callback(runner.cleanup)
        vendors.urls[name] = url
    return vendors


def service_account_key(vendors: Vendors, client_email: str) -> str:
    """A service-account key file like Google's, its token_uri the OAuth fake's."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = "0123456789abcdef0123456789abcdef01234567"
    vendors.oauth.public_keys[key_id] = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "pmhub-production",
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": client_email,
            "client_id": "104729380123456789012",
            "token_uri": f"{vendors.urls['oauth']}/token",
        }
    )


def secrets_for(vendors: Vendors, database_url: str) -> dict[str, dict[str, str]]:
    """Test values for the Secrets of deploy/kubernetes/secret.template.yaml."""
    svix = "whsec_" + base64.b64encode(b"production-topology-incidentio").decode()
    return {
        "pmhub-secrets": {
            "PMHUB_DATABASE_URL": database_url,
            "PMHUB_ADMIN_TOKEN": ADMIN_TOKEN,
            "PAGERDUTY_WEBHOOK_SECRET": PAGERDUTY_SECRET,
            "PAGERDUTY_API_TOKEN": vendors.pagerduty.token,
            "INCIDENTIO_WEBHOOK_SECRET": svix,
            "INCIDENTIO_API_KEY": vendors.incidentio.api_key,
            "SLACK_SIGNING_SECRET": "production-topology-slack-signing",
            "SLACK_BOT_TOKEN": vendors.slack.token,
            "JIRA_API_TOKEN": vendors.jira.api_token,
            "JIRA_WEBHOOK_SECRET": "production-topology-jira-webhook",
            "STATUSPAGE_API_KEY": vendors.statuspage.api_key,
        },
        "pmhub-google-service-account": {
            "service-account.json": service_account_key(
                vendors, "pmhub@pmhub-production.iam.gserviceaccount.com"
            )
        },
    }


def overrides_for(vendors: Vendors, tls: LoopbackTls) -> dict[str, str]:
    urls = vendors.urls
    overrides = {
        # The vendors' addresses: the configuration's own variables for them.
        "PAGERDUTY_API_URL": urls["pagerduty"],
        "INCIDENTIO_API_URL": urls["incidentio"],
        "SLACK_API_URL": f"{urls['slack']}/api/",
        "GOOGLE_API_ROOT_URL": f"{urls['calendar']}/",
        "STATUSPAGE_API_URL": f"{urls['statuspage']}/v1/",
        "JIRA_URL": urls["jira"],
    }
    _, optional = config_variables()
    assert {name for name in optional if name.endswith("_URL")} == set(overrides) - {"JIRA_URL"}
    return overrides | {
        # Each pod has its own network namespace; two processes on one host cannot both
        # have 8080 and 9090.
        "PMHUB_PORT": "0",
        "PMHUB_ADMIN_PORT": "0",
        # The image's trust store, plus the CA that signed the PagerDuty fake's certificate.
        "SSL_CERT_FILE": str(tls.ca_pem),
    }


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    public: str
    admin: str
    log: list[dict[str, Any]]


@asynccontextmanager
async def running_replicas(pods: list[Pod]) -> AsyncIterator[list[Replica]]:
    """Every pod's `pmhub serve`, started together and stopped together (as a rollout
    does): each costs seconds of start-up, which need not be paid one after the other."""
    async with AsyncExitStack() as stack:
        started = [await stack.enter_async_context(_spawned(pod)) for pod in pods]
        try:
            async with asyncio.timeout(TIMEOUT):
                where = await asyncio.gather(*(asyncio.shield(s.listening) for s in started))
            ports = [
                {name: at[name].rsplit(":", 1)[1] for name in ("public", "admin")} for at in where
            ]
            yield [
                Replica(
                    s.process,
                    f"http://127.0.0.1:{port['public']}",
                    f"http://127.0.0.1:{port['admin']}",
                    s.log,
                )
                for s, port in zip(started, ports, strict=True)
            ]
        finally:
            for s in started:  # all at once; each is then awaited by _spawned
                s.stop()


@asynccontextmanager
async def running_replica(pod: Pod) -> AsyncIterator[Replica]:
    """One pod's `pmhub serve` (tests/deploy/test_rolling_upgrade.py starts them in turn)."""
    async with running_replicas([pod]) as (replica,):
        yield replica


@dataclass
class _Spawned:
    process: asyncio.subprocess.Process
    log: list[dict[str, Any]]
    listening: asyncio.Future[dict[str, Any]]
    stopped: bool = False

    def stop(self) -> None:
        """SIGTERM, once: a second one, arriving after pmhub's graceful stop took down
        its handler, would kill it (exit -15) instead."""
        if not self.stopped and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        self.stopped = True


@asynccontextmanager
async def _spawned(pod: Pod) -> AsyncIterator[_Spawned]:
    """The pod's process, its log read as it comes; stopped (SIGTERM) and exited 0 after."""
    process = await asyncio.create_subprocess_exec(
        *pod.command,
        env=pod.env,
        cwd=pod.root,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    log: list[dict[str, Any]] = []
    listening: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    drain = asyncio.create_task(_read_log(process, log, listening))
    spawned = _Spawned(process, log, listening)
    try:
        yield spawned
    finally:
        spawned.stop()
        code = await asyncio.wait_for(process.wait(), TIMEOUT)
        await drain
        assert code == 0, f"replica exited {code}: {log[-5:]}"


async def _read_log(
    process: asyncio.subprocess.Process,
    log: list[dict[str, Any]],
    listening: asyncio.Future[dict[str, Any]],
) -> None:
    assert process.stderr is not None
    while line := await process.stderr.readline():
        record = json.loads(line)
        log.append(record)
        if record.get("event") == "pmhub.listening" and not listening.done():
            listening.set_result(record)
    if not listening.done():
        listening.set_exception(AssertionError(f"pmhub exited before listening: {log[-5:]}"))


class Admin:
    def __init__(self, http: aiohttp.ClientSession, replica: Replica) -> None:
        self.http, self.base = http, f"{replica.admin}/api/v1"

    async def get(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with self.http.get(f"{self.base}{path}", headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def settled(self) -> bool:
        """No job running, none due: what remains are timers (reminders) for later."""
        now = datetime.now(UTC)
        running = (await self.get("/jobs?state=running"))["jobs"]
        pending = (await self.get("/jobs?state=pending"))["jobs"]
        due = [job for job in pending if datetime.fromisoformat(job["run_at"]) <= now]
        return not running and not due


def add_resolved_incident(pagerduty: FakePagerDuty) -> dict[str, str]:
    """The incident as PagerDuty's REST API shows it once resolved; returns its times."""
    now = datetime.now(UTC).replace(microsecond=0)
    at = {
        name: (now - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        for name, minutes in (("created", 50), ("acked", 45), ("resolved", 1))
    }
    pagerduty.add_incident(
        INCIDENT,
        number=NUMBER,
        title=TITLE,
        status="resolved",
        priority="P2",  # SEV-2: 5 business days, so a meeting fits whatever day this runs
        created_at=at["created"],
        updated_at=at["resolved"],
        resolved_at=at["resolved"],
        escalation_policy=(ESCALATION_POLICY, "Default"),
        assignees=[(ALICE.pagerduty_id, at["created"])],
        acknowledgers=[(ALICE.pagerduty_id, at["acked"])],
    )
    pagerduty.add_log_entry(
        INCIDENT,
        "trigger_log_entry",
        created_at=at["created"],
        agent=("user", CAROL.pagerduty_id),
        channel={"type": "web_trigger"},
    )
    return at


async def deliver(
    http: aiohttp.ClientSession, replica: Replica, body: bytes, headers: dict[str, str]
) -> None:
    async with http.post(
        f"{replica.public}/webhooks/pagerduty", data=body, headers=headers
    ) as response:
        assert response.status == 202, await response.text()


async def wait_until(what: str, condition: Any, replicas: list[Replica]) -> None:
    try:
        async with asyncio.timeout(TIMEOUT):
            while not await condition():
                await asyncio.sleep(0.1)
    except TimeoutError:
        problems = [
            json.dumps(record)
            for replica in replicas
            for record in replica.log
            if record.get("level") in {"warning", "error", "critical"}
            or record.get("event") == "job.finished"
        ]
        raise AssertionError(
            f"waited in vain for {what}; the replicas said:\n" + "\n".join(problems[-20:])
        ) from None


async def test_two_replicas_on_one_database_make_one_postmortem_and_each_effect_once(
    tmp_path: Path, postgres_url: str, loopback_tls: LoopbackTls
) -> None:
    manifests = render()
    site = generated(manifests, "ConfigMap", "pmhub-site")["data"]
    async with AsyncExitStack() as stack:
        vendors = await start_vendors(stack, site, loopback_tls)
        at = add_resolved_incident(vendors.pagerduty)
        secrets = secrets_for(vendors, postgres_url)
        overrides = overrides_for(vendors, loopback_tls)
        # The release's migration Job first, as `kubectl apply` and a rollout would.
        job = lay_out_pod(manifests, tmp_path / "job", secrets, overrides, ("Job", "pmhub-migrate"))
        migrate = await asyncio.create_subprocess_exec(
            *job.command, env=job.env, cwd=job.root, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await migrate.communicate()
        assert (migrate.returncode, out.decode().startswith("store at revision")) == (0, True)
        pods = [lay_out_pod(manifests, tmp_path / f"pod-{n}", secrets, overrides) for n in range(2)]
        replicas = await stack.enter_async_context(running_replicas(pods))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        first, second = replicas
        data = {
            "number": NUMBER,
            "title": TITLE,
            "created_at": at["created"],
            "priority": {"summary": "P2", "id": "PRIP2"},
        }
        triggered = pagerduty_delivery(
            "incident.triggered",
            incident_id=INCIDENT,
            extra_data={**data, "status": "triggered"},
            occurred_at=at["created"],
        )
        resolved = pagerduty_delivery(
            "incident.resolved",
            incident_id=INCIDENT,
            extra_data={**data, "status": "resolved"},
            occurred_at=at["resolved"],
        )
        await deliver(http, first, *triggered)
        await deliver(http, second, *resolved)
        await deliver(http, first, *resolved)  # PagerDuty's retry, landing on the other replica

        slack, calendar = vendors.slack, vendors.calendar
        channel = site["SLACK_INCIDENTS_CHANNEL"]

        async def effects_landed() -> bool:
            dm = slack.dms.get(ALICE.slack_id)
            announced = any(REFERENCE in str(m.get("text")) for m in slack.posts(channel))
            return bool(dm and slack.posts(dm)) and announced and bool(calendar.stored())

        admins = [Admin(http, replica) for replica in replicas]
        try:
            await wait_until(
                "the owner's DM, the announcement and the meeting", effects_landed, replicas
            )
        except AssertionError as exc:
            incident = await admins[0].get(f"/incidents/pagerduty:{INCIDENT}")
            postmortems = await admins[0].get("/postmortems")
            raise AssertionError(
                f"{exc}\nincident: {incident}\npost-mortems: {postmortems}"
            ) from None
        await wait_until("every due job done", admins[0].settled, replicas)

        # One incident and one post-mortem, whichever replica is asked.
        for admin in admins:
            assert [i["id"] for i in (await admin.get("/incidents"))["incidents"]] == [
                f"pagerduty:{INCIDENT}"
            ]
            [postmortem] = (await admin.get("/postmortems"))["postmortems"]
            assert postmortem["id"] == f"pm:pagerduty:{INCIDENT}"
            assert (await admin.get("/jobs?state=dead"))["jobs"] == []
        plan = (await admins[1].get(f"/postmortems/{postmortem['id']}"))["plan"]
        assert plan["owner"]["email"] == ALICE.email

        # Each effect once, counted on the fakes.
        dms = [str(m.get("text")) for m in slack.posts(slack.dms[ALICE.slack_id])]
        assert (
            len([t for t in dms if t.startswith(f"You own the post-mortem for {REFERENCE}")]) == 1
        )
        posted = [str(m.get("text")) for m in slack.posts(channel)]
        assert len([t for t in posted if t.startswith(f"Post-mortem for {REFERENCE}: owner")]) == 1
        keys = Counter(
            m["metadata"]["event_payload"]["effect_key"]
            for posts in slack.messages.values()
            for m in posts
            if m.get("metadata")
        )
        assert keys, "pmhub's posts carry their effect keys"
        assert max(keys.values()) == 1, keys
        [event] = calendar.stored()
        assert ALICE.email in {a["email"] for a in event["attendees"]}
        notes = [note["content"] for note in vendors.pagerduty.notes.get(INCIDENT, [])]
        assert notes, "the owner and the meeting are noted on the PagerDuty incident"
        assert len(set(notes)) == len(notes), notes
        assert vendors.jira.issues == {}
        assert vendors.statuspage.incidents == {}
        assert BOB.slack_id not in slack.dms  # only the owner was told

        # Google was asked for the documented scopes, acting as the configured subject.
        assert vendors.oauth.grants
        for grant in vendors.oauth.grants:
            assert grant["sub"] == site["GOOGLE_CALENDAR_SUBJECT"]
            assert set(grant["scope"].split()) == set(DEFAULT_SCOPES)
        assert all(scope in SETUP_GUIDE.read_text() for scope in DEFAULT_SCOPES)

        # Both replicas took deliveries.
        for replica in replicas:
            webhooks = [r for r in replica.log if r.get("route") == "/webhooks/{source}"]
            assert webhooks
            assert all(r["status"] == 202 for r in webhooks)
