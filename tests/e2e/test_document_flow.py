"""The post-mortem document, whole daemon: PagerDuty (TLS), Slack, Google Docs (TLS), SMTP.

A SEV-1 resolved in PagerDuty, worked in a Slack channel, gets exactly one Google Doc,
pre-filled with a timeline that holds PagerDuty's entries and the channel's key moments
in order, the responders with the Incident Commander (a channel message) and the Scribe
(a PagerDuty responder request), and the call recording. Its link reaches the owner's
DM; the TODO found in the channel is offered with a button, and added as a follow-up
through its form. The In Review guard reads the document back and names the empty
sections; once Reviewed the results are emailed, once. Under faults and a dropped
answer on every Drive call, there is still exactly one document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from connectors.google_docs.fake import FakeGoogleDocs
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.model.postmortem import Meeting
from hub.store.db import transaction
from hub.store.state import load_postmortem, lock_incident_id, save_postmortem
from tests.e2e.conftest import SLACK_ALICE
from tests.e2e.document_support import (
    UPLOAD,
    DocumentWorld,
    document_world,
    documents_made,
    incident_lifecycle,
    interact,
    seed_war_room,
)
from tests.e2e.test_slack_flow import INCIDENT_ID, NOW
from tests.support.daemon import Daemon, running_daemon, settle, shifted_clock

__all__ = ["document_world"]
pytestmark = pytest.mark.slow


def _alice_posts(slack: FakeSlack, marker: str) -> list[dict[str, Any]]:
    channel = slack.dms[SLACK_ALICE]
    return [m for m in slack.posts(channel) if marker in (effect_key_of(m) or "")]


async def test_a_resolved_sev1_gets_one_google_doc_with_its_timeline_and_people(
    document_world: DocumentWorld,
) -> None:
    world, clock = document_world, shifted_clock(NOW)
    seed_war_room(world)
    async with running_daemon(world.config, clock=clock) as daemon:
        await incident_lifecycle(daemon, world.pagerduty.fake)
        await settle(daemon)
        pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)

        [doc] = documents_made(world.docs)
        assert world.docs.calls[("POST", UPLOAD)] == 1
        # PagerDuty, over the incident's life and its timeline: the incident and its log
        # once (at the resolution; the timeline reuses them), the on-call once (issue 16).
        pd_calls = world.pagerduty.fake.calls
        assert sum(n for (_, path), n in pd_calls.items() if not path.startswith("/users/")) == 3
        assert all(n == 1 for (_, path), n in pd_calls.items() if path.startswith("/users/"))
        assert doc["parents"] == ["0AFolderPostmortems"]
        assert doc["name"] == "Post-mortem: PD-1042 A little bump in the road"
        text = world.docs.document_text(doc["id"])
        timeline = text.split("\nTimeline\n", 1)[1].split("\nResponders\n", 1)[0]
        expected = [
            "Trigger (Carol Diaz)",
            "I'm the IC for this one",
            "Acknowledge (Alice Chen)",
            "Bob Okafor was asked to respond: Please join as Scribe",
            "Root cause: the checkout config push at 08:50",
            "Rolled the config back",
            "Resolve (Alice Chen)",
        ]
        at = [timeline.index(line) for line in expected]
        assert at == sorted(at), timeline
        assert "looking at the graphs" not in text  # not a key moment
        assert "Olly Observer" not in text  # joined, never acted
        assert "Incident Commander: Alice Chen (from a message in the channel)" in text
        assert "Scribe: Bob Okafor (from a PagerDuty responder request)" in text
        assert "Call recording" in text
        assert pm is not None
        assert pm.document is not None
        assert pm.document_url == doc["webViewLink"]
        assert [c.text for c in pm.candidates] == ["TODO: alert on checkout config drift"]

        # The link reaches the owner's DM (edited in place, not posted again).
        slack = world.slack.fake
        [dm] = _alice_posts(slack, ":owner:notify:")
        assert doc["webViewLink"] in json.dumps(dm["blocks"])
        # The TODO is offered with a button; its form asks the priority.
        [offer] = _alice_posts(slack, ":todos:offer:")
        press = slack.press_button(
            world.slack.base_url, SLACK_ALICE, slack.dms[SLACK_ALICE], offer["ts"], "pm_add_todo"
        )
        assert (await interact(daemon, press, clock)).status == 200
        await settle(daemon)
        [(view_id, view)] = slack.modals.views.items()
        assert view["callback_id"] == "pm_todo"
        chosen = {"text": {"type": "plain_text", "text": "P1"}, "value": "P1"}
        submitted = slack.submit_view(
            view_id,
            SLACK_ALICE,
            {"summary": "Alert on checkout config drift", "priority": chosen},
        )
        assert (await interact(daemon, submitted, clock)).status == 200
        await settle(daemon)
        added = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)

    assert added is not None
    [follow_up] = added.follow_ups
    assert (follow_up.summary, follow_up.priority) == ("Alert on checkout config drift", "P1")
    assert added.candidates[0].follow_up_id == follow_up.id
    [edited] = _alice_posts(slack, ":todos:offer:")
    assert f"Added as `{follow_up.id}`" in json.dumps(edited["blocks"])
    assert "pm_add_todo" not in json.dumps(edited["blocks"])
    # Nothing is in the document twice: still one, and pmhub's own section lists it.
    [doc] = documents_made(world.docs)
    assert "not filed yet (P1): Alert on checkout config drift" in world.docs.document_text(
        doc["id"]
    )


async def _meeting_held(daemon: Daemon) -> None:
    """The meeting took place an hour ago (booked by hand: no calendar here)."""
    start = NOW - timedelta(hours=1)
    meeting = Meeting(start=start, end=start + timedelta(minutes=30), calendar="PMs")
    async with transaction(daemon.runtime.engine) as conn:
        await lock_incident_id(conn, INCIDENT_ID, now=NOW)  # as a person's action does
        pm = await load_postmortem(conn, INCIDENT_ID)
        assert pm is not None
        await save_postmortem(conn, pm.model_copy(update={"meeting": meeting}))


async def _move(daemon: Daemon, to: str) -> tuple[int, str]:
    response = await daemon.client.post(
        f"/api/v1/postmortems/pm:{INCIDENT_ID}/transitions",
        json={"to": to},
        headers=daemon.admin_headers(),
    )
    body = await response.json()
    await settle(daemon)
    return response.status, json.dumps(body)


async def test_review_reads_the_document_and_the_results_are_emailed_once(
    document_world: DocumentWorld,
) -> None:
    world, clock = document_world, shifted_clock(NOW)
    seed_war_room(world)
    docs: FakeGoogleDocs = world.docs
    async with running_daemon(world.config, clock=clock) as daemon:
        await incident_lifecycle(daemon, world.pagerduty.fake)
        await settle(daemon)
        await _meeting_held(daemon)
        [doc] = documents_made(docs)

        status, body = await _move(daemon, "in_review")
        assert status == 409
        assert "sections of the post-mortem document are empty: Summary, Root cause" in body

        # The owner writes; a colleague clears the timeline to rewrite it.
        docs.edit_as("alice@example.com", doc["id"], "Summary", "Checkout failed for 5 hours.")
        docs.edit_as("alice@example.com", doc["id"], "Root cause", "An unreviewed config push.")
        docs.edit_as("alice@example.com", doc["id"], "Key learnings", "Canary config pushes.")
        docs.clear_section_as("bob@example.com", doc["id"], "Timeline")
        status, body = await _move(daemon, "in_review")
        assert status == 409
        assert "sections of the post-mortem document are empty: Timeline" in body

        docs.edit_as("bob@example.com", doc["id"], "Timeline", "09:02 Alice acknowledged")
        assert (await _move(daemon, "in_review"))[0] == 200
        assert (await _move(daemon, "reviewed"))[0] == 200
        # Any later reconcile (a redelivered event, a timer) sends nothing more.
        await incident_lifecycle(daemon, world.pagerduty.fake)
        await settle(daemon)
        # Someone writes in pmhub's own section: from then on it is theirs.
        docs.edit_as("bob@example.com", doc["id"], "pmhub draft", "Bob: see the Jira board.")
        response = await daemon.client.post(
            f"/api/v1/postmortems/pm:{INCIDENT_ID}/follow-ups",
            json={"summary": "Add a deploy freeze calendar", "priority": "P1"},
            headers=daemon.admin_headers(),
        )
        assert response.status in (200, 201)
        await settle(daemon)
        pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)

    [mail] = world.smtp.received
    message: EmailMessage = mail.message
    assert set(mail.rcpt_tos) == {"eng-learning@example.com", "eng-leads@example.com"}
    assert mail.over_tls
    assert mail.authenticated_as == "pmhub"
    assert message["Subject"] == "Post-mortem results: PD-1042 A little bump in the road"
    body_text = message.get_content().replace("\r\n", "\n")
    assert "Summary\n-------\nCheckout failed for 5 hours." in body_text
    assert "Key learnings\n-------------\nCanary config pushes." in body_text
    assert f"The post-mortem: {doc['webViewLink']}" in body_text
    assert pm is not None
    assert pm.results_email is not None
    assert pm.results_email.message_id == message["Message-ID"]
    # The Summary read when it moved on is kept, for the outcome post at close.
    assert pm.document is not None
    assert pm.document.summary == "Checkout failed for 5 hours."
    # pmhub left Bob's words alone and stopped writing its section.
    assert pm.document.draft_taken_over
    text = docs.document_text(doc["id"])
    assert "Bob: see the Jira board." in text
    assert "deploy freeze" not in text


Inject = Callable[[FakeGoogleDocs], None]


@pytest.mark.parametrize(
    "inject",
    [
        pytest.param(lambda d: d.drop_after_commit(route=UPLOAD), id="upload-dropped"),
        pytest.param(lambda d: d.drop_after_commit(route=UPLOAD, times=2), id="dropped-twice"),
        pytest.param(lambda d: d.fail(503, times=2), id="5xx"),
        pytest.param(lambda d: d.rate_limit(429, retry_after=0.1, times=2), id="429"),
        pytest.param(lambda d: d.hang(), id="timeout"),
    ],
)
async def test_faults_still_make_exactly_one_document(
    document_world: DocumentWorld, inject: Inject
) -> None:
    world = document_world
    seed_war_room(world)
    inject(world.docs)
    async with running_daemon(world.config, clock=shifted_clock(NOW)) as daemon:
        await incident_lifecycle(daemon, world.pagerduty.fake)
        await settle(daemon)
        pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)
        dead = await daemon.client.get("/api/v1/jobs?state=dead", headers=daemon.admin_headers())
        assert (await dead.json())["jobs"] == []

    [doc] = documents_made(world.docs)
    assert pm is not None
    assert pm.document is not None
    assert pm.document.id == doc["id"]
    assert pm.document_url == doc["webViewLink"]
