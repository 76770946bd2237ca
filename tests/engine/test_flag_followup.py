"""A follow-up the policy will not file: told to the owner, and its reason kept on it.

Real store, the reconciler's plan, the effect runner, and the Slack notifier against the
Slack fake on loopback (no doubles): the owner's DM is read from the fake, the reason from
the stored post-mortem, the ledger and the status text people see.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.fakeserver import start_fake
from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.fake import FakeSlack
from connectors.slack.messages import follow_ups_text
from connectors.slack.notifier import SlackNotifier
from hub.engine.actions.followups import FollowUpHandler, flag_performer
from hub.engine.effects import EffectRequest, EffectRunner, Performer
from hub.engine.performers.chat import chat_performers
from hub.engine.reconcile import Reconciler
from hub.intake.adapters import parse_delivery
from hub.intake.merge import merge
from hub.jobs.kinds import EFFECT
from hub.jobs.queue import Job, JobQueue
from hub.model.followup_event import FollowUpFact
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.intent import IntentKind
from hub.model.postmortem import FollowUp, FollowUpState, PostMortem
from hub.policy import evaluate, load_policies
from hub.store.effects import get_effect
from hub.store.state import load_incident, load_postmortem, save_incident, save_postmortem

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
EXAMPLES = Path(__file__).parents[1] / "fixtures" / "incidentio_webhook_examples"
FOLLOW_UP_V2 = "public_incident.follow_up_created_v2"
RESOLVED = datetime(2026, 11, 19, 19, 5, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
INCIDENT_ID = "pagerduty:P1042"
ALICE = Person(email="alice@example.com", name="Alice Chen", pagerduty_id="PALICE1")
ALICE_SLACK, INCIDENTS = "U0ALICE001", "C0INCIDNTS"
REASON = (
    "priority P3 is not one the policy files (P0, P1); override it with a reason, "
    "or drop the follow-up"
)


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, Performer]]:
    fake = FakeSlack(min_post_interval=0.01)
    fake.add_user(ALICE_SLACK, "Alice Chen", ALICE.email or "")
    fake.add_channel(INCIDENTS, "incidents")
    runner, url = await start_fake(fake.make_app())
    config = SlackConfig(
        bot_token=SecretStr(fake.token),
        base_url=f"{url}/api/",
        incidents_channel=INCIDENTS,
        timeout_seconds=5,
        post_interval_seconds=0.01,
    )
    async with aiohttp.ClientSession() as session:
        notifier = SlackNotifier(SlackConnector.from_config(config, session), config)
        yield fake, chat_performers(notifier)[IntentKind.FLAG_FOLLOWUP]
    await runner.cleanup()


def _update() -> IncidentUpdate:
    fields: dict[str, object] = {
        "title": "Checkout API 5xx",
        "reference": "PD-1042",
        "severity": "SEV-1",
        "status": "resolved",
        "created_at": RESOLVED - timedelta(hours=5),
        "resolved_at": RESOLVED,
        "incident_commander": ALICE,
    }
    return IncidentUpdate.of(Source.PAGERDUTY, "P1042", RESOLVED, fields)


async def _store(engine: AsyncEngine) -> None:
    await save_incident(engine, merge(None, _update()).record)
    items = (
        FollowUp(id="1", summary="Alert on checkout 5xx rate", priority="P1", owner=ALICE),
        FollowUp(id="3", summary="Tidy the runbook wording", priority="P3", owner=ALICE),
    )
    await save_postmortem(engine, PostMortem(incident_id=INCIDENT_ID, follow_ups=items))


async def _flag_job(engine: AsyncEngine, queue: JobQueue) -> Job:
    await Reconciler(engine, queue, load_policies([POLICY]), clock=lambda: NOW).reconcile(
        INCIDENT_ID
    )
    jobs = await queue.lease("t", limit=1000, lease_seconds=60, now=NOW)
    return next(j for j in jobs if j.kind == EFFECT and str(j.payload["key"]).endswith(":flag"))


def _runner(engine: AsyncEngine, queue: JobQueue, flag: Performer) -> EffectRunner:
    policies = load_policies([POLICY])
    reconciler = Reconciler(engine, queue, policies, clock=lambda: NOW)
    return EffectRunner(
        engine,
        policies,
        {IntentKind.FLAG_FOLLOWUP: flag},
        clock=lambda: NOW,
        reconcile=reconciler.request,
    )


async def test_the_owner_is_told_and_the_follow_up_keeps_the_reason(
    engine: AsyncEngine, slack: tuple[FakeSlack, Performer]
) -> None:
    fake, tell = slack
    await _store(engine)
    queue = JobQueue(engine)
    job = await _flag_job(engine, queue)
    assert job.payload["key"] == f"pm:{INCIDENT_ID}:followup:3:flag"

    await _runner(engine, queue, flag_performer(tell))(job)

    # Told to the owner, in a DM, with the reason.
    dm = fake.dms[ALICE_SLACK]
    [message] = fake.messages[dm]
    assert "follow-up 3 was not filed" in message["text"]
    assert REASON in message["text"]
    assert INCIDENTS not in fake.messages or not fake.messages[INCIDENTS]
    # Kept on the follow-up (what the admin API returns), and only on that one.
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    flags = {f.id: f.flagged_reason for f in pm.follow_ups}
    assert flags == {"1": None, "3": REASON}
    effect = await get_effect(engine, str(job.payload["key"]))
    assert effect is not None
    assert effect.vendor_ref is not None
    assert effect.detail["flagged_reason"] == REASON
    # And in the follow-up list of `/postmortem status`.
    assert REASON in follow_ups_text(pm.follow_ups)
    assert follow_ups_text(pm.follow_ups).count(":triangular_flag_on_post:") == 1


async def test_without_chat_the_reason_is_still_kept(engine: AsyncEngine) -> None:
    await _store(engine)
    queue = JobQueue(engine)
    job = await _flag_job(engine, queue)

    await _runner(engine, queue, flag_performer(None))(job)

    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.follow_ups[1].flagged_reason == REASON
    effect = await get_effect(engine, str(job.payload["key"]))
    assert effect is not None
    assert effect.detail["told"] == "nobody: no chat connector"


async def test_a_follow_up_filed_or_dropped_meanwhile_is_not_marked(engine: AsyncEngine) -> None:
    # The flag was planned, then the follow-up was filed (an override) or dropped before
    # the effect recorded: the reason no longer applies and is not written.
    await _store(engine)
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    incident = merge(None, _update()).record.incident
    plan = evaluate(incident, pm, load_policies([POLICY]), NOW)
    intent = plan.intent(f"pm:{INCIDENT_ID}:followup:3:flag")
    assert intent is not None
    request = EffectRequest(
        intent=intent, incident=incident, postmortem=pm, plan=plan, unknown_outcome=False
    )
    outcome = await flag_performer(None)(request)
    assert outcome.update is not None

    assert outcome.update(pm).follow_ups[1].flagged_reason == REASON
    for change in ({"tracker_key": "OPS-9"}, {"state": FollowUpState.DROPPED}):
        settled = pm.follow_ups[1].model_copy(update=change)
        later = pm.model_copy(update={"follow_ups": (pm.follow_ups[0], settled)})
        assert outcome.update(later) == later


async def test_an_incidentio_low_follow_up_is_a_p3_and_flagged(engine: AsyncEngine) -> None:
    # incident.io names its follow-up priorities; "Low" is P3, which this policy flags.
    io_id = "01HZX3K9QPMQ2V7Z4A1B2C3D4E"
    fields: dict[str, object] = {
        "title": "Checkout API 5xx",
        "severity": "SEV-1",
        "status": "resolved",
        "created_at": RESOLVED - timedelta(hours=5),
        "resolved_at": RESOLVED,
        "incident_commander": ALICE,
    }
    update = IncidentUpdate.of(Source.INCIDENTIO, io_id, RESOLVED, fields)
    await save_incident(engine, merge(None, update).record)
    body = json.loads((EXAMPLES / f"{FOLLOW_UP_V2}.json").read_text())
    body[FOLLOW_UP_V2].update(incident_id=io_id, status="outstanding")
    body[FOLLOW_UP_V2]["priority"]["name"] = "Low"
    [fact] = parse_delivery("incidentio", json.dumps(body).encode())
    assert isinstance(fact, FollowUpFact)
    policies = load_policies([POLICY])
    handler = FollowUpHandler(
        engine, JobQueue(engine), policies, tracker=None, tracker_url=None, clock=lambda: NOW
    )

    await handler(fact, "incidentio:msg_1")

    pm = await load_postmortem(engine, f"incidentio:{io_id}")
    assert pm is not None
    [item] = pm.follow_ups
    assert item.priority == "P3"
    stored = await load_incident(engine, f"incidentio:{io_id}")
    assert stored is not None
    plan = evaluate(stored.incident, pm, policies, NOW)
    flag = plan.intent(f"pm:incidentio:{io_id}:followup:{item.id}:flag")
    assert flag is not None
    assert plan.intent(f"pm:incidentio:{io_id}:followup:{item.id}:ticket") is None
