"""PostHog's flow, whole daemon: an incident.io incident under the shipped PostHog policy
gets its analysis proposed as exactly one pull request against the incidents-analysis
repository (the GitHub fake), with a timeline of everything that happened (incident.io's
activity log and the incident's own Slack channel), whatever faults GitHub has.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connectors.common.fakeserver import start_fake
from connectors.github.fake import FakeGitHub
from connectors.incidentio.fake import FakeIncidentIo
from connectors.slack.fake import FakeSlack
from hub.store.state import load_postmortem
from tests.e2e.conftest import INCIDENTS_CHANNEL, Served
from tests.e2e.test_slack_flow import NOW
from tests.intake.helpers import svix_headers
from tests.support.daemon import Daemon, running_daemon, settle, shifted_clock, write_config

pytestmark = pytest.mark.slow

POSTHOG = Path(__file__).parents[2] / "config" / "policies" / "posthog-process.yaml"
INCIDENT, CHANNEL = "01JSEARCH0000000000000045", "C0INC45SRC"
INCIDENT_ID = f"incidentio:{INCIDENT}"
API_KEY = "iio-api-key-e2e"
BOB, CAROL = "01HBOB0000000000000000001", "01HCAROL00000000000000001"
SLACK_BOB, SLACK_CAROL = "U0BOB00001", "U0CAROL001"
CREATED = NOW - timedelta(hours=20)
RESOLVED = NOW - timedelta(hours=2)
PULLS = "/repos/{owner}/{repo}/pulls"


@dataclass
class World:
    incidentio: FakeIncidentIo
    github: FakeGitHub
    slack: Served[FakeSlack]
    secret: str
    config: Path


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
async def world(tmp_path: Path, db_url: str, slack_fake: Served[FakeSlack]) -> AsyncIterator[World]:
    incidentio, github = FakeIncidentIo(api_key=API_KEY), FakeGitHub()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    runners: list[web.AppRunner] = []
    try:
        io_runner, io_url = await start_fake(incidentio.make_app())
        runners.append(io_runner)
        gh_runner, gh_url = await start_fake(github.make_app())
        runners.append(gh_runner)
        config = write_config(tmp_path, db_url)
        text = config.read_text().replace("lease_seconds: 5", "lease_seconds: 60")
        text = text.replace(
            "sources:\n",
            "sources:\n"
            "  incidentio:\n"
            f'    webhook_secrets: ["{secret}"]\n'
            f"    api_key: {API_KEY}\n"
            f"    base_url: {io_url}\n",
        )
        config.write_text(
            text + "connectors:\n"
            "  slack:\n"
            f"    bot_token: {slack_fake.fake.token}\n"
            f"    base_url: {slack_fake.base_url}/api/\n"
            f"    incidents_channel: {INCIDENTS_CHANNEL}\n"
            "  github:\n"
            f"    repository: {github.owner}/{github.repo}\n"
            "    path: analyses\n"
            f"    token: {github.token}\n"
            f"    base_url: {gh_url}\n"
            "    timeout_seconds: 2\n"
            f"policies: [{POSTHOG}]\n"
        )
        yield World(incidentio, github, slack_fake, secret, config)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def _seed(world: World) -> bytes:
    """INC-45, raised by Carol and led by Bob, worked in its own channel; resolved."""
    io, slack = world.incidentio, world.slack.fake
    io.add_user(BOB, "Bob Okafor", "bob@example.com", slack_user_id=SLACK_BOB)
    io.add_user(CAROL, "Carol Diaz", "carol@example.com", slack_user_id=SLACK_CAROL)
    slack.add_user(SLACK_CAROL, "Carol Diaz", "carol@example.com")
    slack.add_channel(CHANNEL, "inc-45-search-results-delayed")
    incident = io.add_incident(
        INCIDENT,
        reference="INC-45",
        name="Search results delayed",
        severity=("Major", 2),
        status=("Monitoring", "learning"),
        creator=CAROL,
        roles={"Incident Lead": BOB},
        slack_channel=(CHANNEL, "inc-45-search-results-delayed"),
        created_at=_z(CREATED),
        updated_at=_z(RESOLVED),
    )
    incident["incident_timestamp_values"] = [
        {
            "incident_timestamp": {"id": "01JSTAMP", "name": "Resolved at", "rank": 3},
            "value": {"value": _z(RESOLVED)},
        }
    ]
    io.add_activity(
        INCIDENT,
        "role_update",
        "Bob Okafor is now Incident Lead",
        occurred_at=_z(CREATED + timedelta(minutes=2)),
        by=CAROL,
        content={"role": io.role("Incident Lead"), "new_assignee": io.users[BOB]},
    )
    io.add_activity(
        INCIDENT,
        "status_change",
        "Status changed from Investigating to Monitoring",
        occurred_at=_z(CREATED + timedelta(minutes=200)),
        by=BOB,
        content={"new_status": io.status("Monitoring", "learning")},
    )
    stamp = (CREATED + timedelta(minutes=5)).timestamp()
    slack.add_message(CHANNEL, "index rebuild stalled at 06:10", user=SLACK_BOB, at=stamp)
    slack.add_message(
        CHANNEL, "TODO: alert when the rebuild stalls", user=SLACK_CAROL, at=stamp + 600
    )
    event_type = "public_incident.incident_updated_v2"
    return json.dumps({"event_type": event_type, event_type: incident}).encode()


async def _deliver(
    daemon: Daemon, world: World, body: bytes, clock: Callable[[], datetime]
) -> None:
    headers = svix_headers(world.secret, body, ts=str(int(clock().timestamp())))
    headers["Content-Type"] = "application/json"
    response = await daemon.client.post("/webhooks/incidentio", data=body, headers=headers)
    assert response.status == 202
    await settle(daemon)


async def test_an_incidentio_incident_under_posthog_s_process_gets_one_pull_request(
    world: World,
) -> None:
    clock = shifted_clock(NOW)
    body = _seed(world)
    async with running_daemon(world.config, clock=clock) as daemon:
        await _deliver(daemon, world, body, clock)
        pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)

    github = world.github
    [pull] = github.pulls
    assert pull["title"] == "Post-mortem: INC-45 Search results delayed"
    assert pull["base"]["ref"] == "main"
    assert "The post-mortem of INC-45 (SEV-2), owned by Bob Okafor" in pull["body"]
    branch = pull["head"]["ref"]
    [path] = [p for p in github.commits[github.branches[branch]].tree if p.startswith("analyses/")]
    assert path.endswith("-inc-45-search-results-delayed.md")
    text = github.file(branch, path)
    assert text is not None
    timeline = text.split("## Timeline", 1)[1].split("## People", 1)[0]
    lines = [
        "Bob Okafor is now Incident Lead",
        "index rebuild stalled at 06:10",
        "TODO: alert when the rebuild stalls",
        "Status changed from Investigating to Monitoring",
    ]
    at = [timeline.index(line) for line in lines]
    assert at == sorted(at), timeline
    assert "- Bob Okafor (Incident Commander)" in text
    assert "## pmhub draft" in text
    assert pm is not None
    assert pm.document is not None
    assert pm.document.tool == "github"
    assert pm.document_url == pull["html_url"]


Inject = Callable[[FakeGitHub], Any]


@pytest.mark.parametrize(
    "inject",
    [
        pytest.param(
            lambda g: g.drop_after_commit(method="POST", route="/repos/{owner}/{repo}/git/refs"),
            id="branch-dropped",
        ),
        pytest.param(
            lambda g: g.drop_after_commit(
                method="PUT", route="/repos/{owner}/{repo}/contents/{path}"
            ),
            id="file-dropped",
        ),
        pytest.param(lambda g: g.drop_after_commit(method="POST", route=PULLS), id="pull-dropped"),
        pytest.param(lambda g: g.fail(502, times=2), id="5xx"),
        pytest.param(lambda g: g.hang(method="POST", route=PULLS), id="timeout"),
    ],
)
async def test_github_faults_still_make_exactly_one_pull_request(
    world: World, inject: Inject
) -> None:
    clock = shifted_clock(NOW)
    body = _seed(world)
    inject(world.github)
    async with running_daemon(world.config, clock=clock) as daemon:
        await _deliver(daemon, world, body, clock)
        pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)
        dead = await daemon.client.get("/api/v1/jobs?state=dead", headers=daemon.admin_headers())
        assert (await dead.json())["jobs"] == []

    github = world.github
    [pull] = github.pulls
    branches = [b for b in github.branches if b != "main"]
    assert branches == [pull["head"]["ref"]]
    path = next(
        p for p in github.commits[github.branches[branches[0]]].tree if p.startswith("analyses/")
    )
    assert len(github.history(branches[0], path)) == 1
    assert pm is not None
    assert pm.document_url == pull["html_url"]
