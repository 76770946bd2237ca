"""The whole daemon over HTTP with the PagerDuty (TLS), Jira and Statuspage fakes.

A resolved SEV-1 from PagerDuty gets its post-mortem; its follow-ups become Jira
issues (the policy's labels, mapped priorities, assigned by email; a P3 is flagged,
not filed), a Jira `issue_updated` webhook closing one marks it done in pmhub, the
external message reaches the status page only once the post-mortem is Reviewed, and
the PagerDuty incident gets its note. Under injected faults on every fake (5xx,
timeouts, 429, commit-then-drop) each effect still happens exactly once, counted on
the fakes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from connectors.common.fakeserver import start_fake
from connectors.jira.fake import BULK, ISSUE, SEARCH_JQL, FakeJira
from connectors.jira.payloads import marker_label
from connectors.pagerduty.fake import FakePagerDuty
from connectors.statuspage.fake import FakeStatuspage
from hub.jobs.kinds import RECONCILE, reconcile_key
from hub.jobs.queue import enqueue_job
from hub.model.incident import Person
from hub.model.postmortem import (
    ExternalMessage,
    FollowUp,
    FollowUpState,
    Meeting,
    PostMortem,
    PostMortemStatus,
)
from hub.store.db import transaction
from hub.store.state import load_postmortem, lock_incident_id, save_postmortem
from tests.support.daemon import (
    Daemon,
    running_daemon,
    settle,
    shifted_clock,
    shorten_vendor_timeout,
    write_config,
)
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

INCIDENT, POLICY, ALICE, BOB = "PGR0VU2", "PUS0KTE", "PTUXL6G", "PVMGSML"
INCIDENT_ID = f"pagerduty:{INCIDENT}"
JIRA_SECRET = "jira-webhook-secret-e2e"
POLICIES = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # the day after the incident
MESSAGE = (
    "On November 19 some customers saw errors from the checkout API for five hours. "
    "A configuration change caused the service degradation; it has been reverted."
)


@dataclass
class World:
    pagerduty: FakePagerDuty
    jira: FakeJira
    statuspage: FakeStatuspage
    jira_url: str
    config: Path


@pytest.fixture
async def world(tmp_path: Path, db_url: str, loopback_tls: LoopbackTls) -> AsyncIterator[World]:
    pagerduty = FakePagerDuty(token="pd-api-token-e2e")
    pagerduty.add_user(ALICE, "Alice Chen", "alice@example.com")
    pagerduty.add_user(BOB, "Bob Okafor", "bob@example.com")
    pagerduty.add_user("PPMHUB1", "pmhub", "pmhub@example.com")
    pagerduty.add_oncall(POLICY, ALICE, level=1, schedule=("PI7DH84", "Primary"))
    pagerduty.add_incident(
        INCIDENT,
        status="resolved",
        created_at="2026-11-19T14:00:00Z",
        updated_at="2026-11-19T19:05:00Z",
        resolved_at="2026-11-19T19:05:00Z",
        priority="P1",
        assignees=[(ALICE, "2026-11-19T14:00:05Z")],
        acknowledgers=[(ALICE, "2026-11-19T14:04:00Z")],
    )
    jira = FakeJira()
    jira.add_user("acc-alice", "Alice Chen", "alice@example.com")
    jira.add_user("acc-bob", "Bob Okafor", "bob@example.com")
    statuspage = FakeStatuspage()
    runners: list[web.AppRunner] = []
    try:
        pd_runner, pd_url = await start_fake(
            pagerduty.make_app(), ssl_context=loopback_tls.server_context
        )
        runners.append(pd_runner)
        jira_runner, jira_url = await start_fake(jira.make_app())
        runners.append(jira_runner)
        sp_runner, sp_url = await start_fake(statuspage.make_app())
        runners.append(sp_runner)
        config = _config(
            tmp_path, db_url, loopback_tls, pd_url=pd_url, jira_url=jira_url, sp_url=sp_url
        )
        yield World(pagerduty, jira, statuspage, jira_url, config)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def _config(
    tmp_path: Path, db_url: str, tls: LoopbackTls, *, pd_url: str, jira_url: str, sp_url: str
) -> Path:
    config = write_config(tmp_path, db_url)
    sources = (
        f"    api_token: pd-api-token-e2e\n"
        f"    base_url: {pd_url}\n"
        f"    ca_bundle: {tls.ca_pem}\n"
        f"    from_email: pmhub@example.com\n"
        f"  jira:\n"
        f"    webhook_secret: {JIRA_SECRET}\n"
    )
    connectors = (
        "connectors:\n"
        "  jira:\n"
        f"    url: {jira_url}\n"
        "    email: pmhub@example.com\n"
        "    api_token: jira-test-token\n"
        "    project: OPS\n"
        "  statuspage:\n"
        "    api_key: sp-test-key\n"
        "    page_id: gytm4qzbx9t6\n"
        f"    base_url: {sp_url}/v1/\n"
    )
    text = config.read_text().replace("admin:", f"{sources}admin:")
    # Room for one failed attempt per injected fault, and then some.
    text = text.replace("max_attempts: 3", "max_attempts: 10")
    config.write_text(text + connectors + f"policies: [{POLICIES}]\n")
    return config


# -- driving the daemon ------------------------------------------------------------


async def _resolve(daemon: Daemon) -> None:
    body, headers = pagerduty_delivery(
        "incident.resolved",
        incident_id=INCIDENT,
        extra_data={"status": "resolved", "priority": {"summary": "P1", "id": "PRIP1"}},
        occurred_at="2026-11-19T19:05:00Z",
    )
    response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
    assert response.status == 202
    await _until(daemon, lambda pm: pm is not None)


async def _change(daemon: Daemon, edit: Callable[[PostMortem], PostMortem]) -> None:
    """What people do through Slack, done to the store; then the reconcile it would ask for."""
    engine = daemon.runtime.engine
    async with transaction(engine) as conn:
        now = daemon.runtime.clock()  # the daemon's (shifted) clock: due at once
        await lock_incident_id(conn, INCIDENT_ID, now=now)  # as a person's action does
        pm = await load_postmortem(conn, INCIDENT_ID)
        assert pm is not None
        await save_postmortem(conn, edit(pm), now=now)
        await enqueue_job(
            conn,
            RECONCILE,
            {"incident_id": INCIDENT_ID},
            dedupe_key=reconcile_key(INCIDENT_ID),
            now=now,
        )
    daemon.runtime.queue.wake()


async def _until(
    daemon: Daemon, done: Callable[[PostMortem | None], bool], seconds: float = 60
) -> PostMortem | None:
    async with asyncio.timeout(seconds):
        while True:
            pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)
            if done(pm):
                return pm
            await asyncio.sleep(0.05)


def _follow_ups(pm: PostMortem) -> PostMortem:
    alice = Person(name="Alice Chen", email="alice@example.com")
    bob = Person(name="Bob Okafor", email="bob@example.com")
    items = (
        FollowUp(id="1", summary="Alert on checkout 5xx rate", priority="P1", owner=alice),
        FollowUp(id="2", summary="Canary config changes", priority="P0", owner=bob),
        FollowUp(id="3", summary="Tidy the runbook wording", priority="P3", owner=alice),
    )
    return pm.model_copy(update={"follow_ups": items})


def _message(status: PostMortemStatus) -> Callable[[PostMortem], PostMortem]:
    def edit(pm: PostMortem) -> PostMortem:
        return pm.model_copy(
            update={"status": status, "external_message": ExternalMessage(body=MESSAGE)}
        )

    return edit


def _meeting(pm: PostMortem) -> PostMortem:
    start = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    meeting = Meeting(
        event_ref="evt1",
        start=start,
        end=start + timedelta(minutes=30),
        calendar="Incident Post-Mortem Meetings",
        html_link="https://calendar.example.com/evt1",
    )
    return pm.model_copy(update={"meeting": meeting})


def _filed(pm: PostMortem | None) -> bool:
    return pm is not None and all(f.filed for f in pm.follow_ups if f.priority != "P3")


async def _jira_webhook(daemon: Daemon, world: World, key: str, category: str) -> None:
    body = json.dumps(
        {
            "timestamp": 1795194000000,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "issue": {
                "id": world.jira.issue(key)["id"],
                "self": f"{world.jira_url}/rest/api/2/issue/{world.jira.issue(key)['id']}",
                "key": key,
                "fields": {
                    "summary": "Alert on checkout 5xx rate",
                    "status": {"name": "Done", "statusCategory": {"key": category}},
                },
            },
        }
    ).encode()
    digest = hmac.new(JIRA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature": f"sha256={digest}",
        "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
    }
    response = await daemon.client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status == 202


# -- the flow --------------------------------------------------------------------


async def test_follow_ups_filed_closed_and_the_message_published_once_reviewed(
    world: World,
) -> None:
    async with running_daemon(world.config, clock=shifted_clock(NOW)) as daemon:
        await _resolve(daemon)
        await _change(daemon, _follow_ups)
        pm = await _until(daemon, _filed)
        await settle(daemon)

        assert pm is not None
        keys = {f.id: f.tracker_key for f in pm.follow_ups}
        assert keys["1"]
        assert keys["2"]
        assert keys["3"] is None
        p1, p0 = world.jira.issue(keys["1"])["fields"], world.jira.issue(keys["2"])["fields"]
        for fields, follow_up_key in ((p1, "1"), (p0, "2")):
            marker = marker_label(f"pm:{INCIDENT_ID}:followup:{follow_up_key}:ticket")
            assert fields["labels"] == ["postmortem", "sev-1", "2026-11", marker]
        assert (p1["priority"]["name"], p1["assignee"]["accountId"]) == ("High", "acc-alice")
        assert (p0["priority"]["name"], p0["assignee"]["accountId"]) == ("Highest", "acc-bob")
        assert "PD-1042" in json.dumps(p1["description"])
        # Both through one bulk call; the P3 is flagged, never filed.
        assert (world.jira.count("POST", BULK), world.jira.count("POST", ISSUE)) == (1, 0)
        assert len(world.jira.issues) == 2
        plan = await _plan(daemon)
        assert any("follow-up 3: priority P3" in problem for problem in plan["problems"])
        # The flagged follow-up carries its reason (no chat is configured here: kept anyway).
        response = await daemon.client.get(
            f"/api/v1/postmortems/pm:{INCIDENT_ID}", headers=daemon.admin_headers()
        )
        shown = {f["id"]: f["flagged_reason"] for f in (await response.json())["follow_ups"]}
        assert shown["1"] is None
        assert shown["3"].startswith("priority P3 is not one the policy files (P0, P1)")

        # Jira says the P1's issue is done: so is the follow-up, in pmhub.
        await _jira_webhook(daemon, world, keys["1"], "done")
        pm = await _until(
            daemon, lambda pm: pm is not None and pm.follow_ups[0].state.value == "done"
        )
        assert pm is not None
        assert pm.follow_ups[1].state is FollowUpState.OPEN

        # The message waits for the review...
        await _change(daemon, _message(PostMortemStatus.IN_REVIEW))
        await settle(daemon)
        assert world.statuspage.incidents == {}
        # ...and goes out once it is Reviewed, its id recorded.
        await _change(daemon, _message(PostMortemStatus.REVIEWED))
        pm = await _until(daemon, _published)
        await settle(daemon)
        assert pm is not None
        assert pm.external_message is not None
        [page_incident] = world.statuspage.incidents.values()
        assert pm.external_message.published_ref == page_incident["id"]
        assert page_incident["incident_updates"][0]["body"] == MESSAGE

        # Owner and meeting known: one note on the PagerDuty incident, from pmhub.
        await _change(daemon, _meeting)
        await _until_notes(world, 1)
        await settle(daemon)
    [note] = world.pagerduty.notes[INCIDENT]
    assert "Alice Chen <alice@example.com>" in note["content"]
    assert "https://calendar.example.com/evt1" in note["content"]


async def test_every_effect_exactly_once_under_faults(world: World) -> None:
    jira, page, pd = world.jira, world.statuspage, world.pagerduty
    # Jira: a 503, a timeout, a 429, and a bulk create that commits but never answers.
    jira.fail(503, method="POST", route=BULK)
    jira.rate_limit(retry_after=0.2, method="GET", route=SEARCH_JQL)
    jira.drop_after_commit(method="POST", route=BULK)
    # Statuspage: a 500, a 420 with Retry-After, an incident created but not answered.
    page.fail(500, method="POST", route="/pages/{page_id}/incidents")
    page.rate_limit(retry_after=0.5)
    page.drop_after_commit(method="POST", route="/pages/{page_id}/incidents")
    # PagerDuty: the note is added, the answer is lost.
    pd.drop_after_commit(method="POST", route="/incidents/{id}/notes")

    async with running_daemon(world.config, clock=shifted_clock(NOW)) as daemon:
        await _resolve(daemon)
        await _change(daemon, _follow_ups)
        await _until(daemon, _filed)
        await _change(daemon, _message(PostMortemStatus.REVIEWED))
        await _until(daemon, _published)
        await _change(daemon, _meeting)
        await _until_notes(world, 1)
        # Let every retry that could still act run out.
        await settle(daemon)
        pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)

    assert pm is not None
    assert pm.external_message is not None
    assert len(jira.issues) == 2
    # The 503 and the dropped answer cost one bulk call each; the retry found both.
    assert jira.count("POST", BULK) == 2
    assert {f.tracker_key for f in pm.follow_ups} == {*jira.issues, None}
    assert len(page.incidents) == 1
    [page_incident] = page.incidents.values()
    assert len(page_incident["incident_updates"]) == 1
    assert pm.external_message.published_ref == page_incident["id"]
    assert len(pd.notes[INCIDENT]) == 1
    # The faults were met, not dodged.
    assert not jira.faults
    assert not page.faults
    assert not pd.faults


async def test_a_hung_vendor_times_out_and_is_retried_without_duplicates(world: World) -> None:
    world.jira.hang(method="POST", route=BULK)
    shorten_vendor_timeout(world.config, "jira")  # the hang costs one short timeout
    async with running_daemon(world.config, clock=shifted_clock(NOW)) as daemon:
        await _resolve(daemon)
        await _change(daemon, _follow_ups)
        await _until(daemon, _filed, seconds=90)
        await settle(daemon)
    # The hung request never reached the handler's commit; the retry filed both, once.
    assert len(world.jira.issues) == 2
    assert world.jira.count("POST", BULK) == 2


def _published(pm: PostMortem | None) -> bool:
    return pm is not None and pm.external_message is not None and pm.external_message.published


async def _until_notes(world: World, count: int) -> None:
    async with asyncio.timeout(60):
        while len(world.pagerduty.notes.get(INCIDENT, [])) < count:
            await asyncio.sleep(0.05)


async def _plan(daemon: Daemon) -> dict[str, list[str]]:
    response = await daemon.client.get(
        f"/api/v1/postmortems/pm:{INCIDENT_ID}", headers=daemon.admin_headers()
    )
    assert response.status == 200
    body = await response.json()
    plan: dict[str, list[str]] = body["plan"]
    return plan
