"""The external message as the Statuspage post-mortem, through the effect runner (no doubles).

The incident and post-mortem are stored, the reconciler plans, the effect runner carries
out PUBLISH_EXTERNAL_MESSAGE with the real Statuspage connector (`mode: postmortem`)
against the Statuspage fake on loopback. What reaches the page is read from the fake,
what pmhub recorded from the store: the ledger row and the message's `published_ref`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.fakeserver import start_fake
from connectors.common.pacer import KeyedPacer
from connectors.statuspage import StatuspageConfig, StatuspageConnector
from connectors.statuspage.fake import FakeStatuspage
from hub.engine.effects import EffectRunner
from hub.engine.performers.publish import publish_performers
from hub.engine.reconcile import Reconciler
from hub.errors import Transient
from hub.intake.merge import merge
from hub.jobs.kinds import EFFECT
from hub.jobs.queue import Job, JobQueue
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.postmortem import ExternalMessage, PostMortem, PostMortemStatus
from hub.policy import load_policies
from hub.store.effects import EffectState, get_effect
from hub.store.state import load_postmortem, save_incident, save_postmortem

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
STARTED = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 19, 19, 5, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
INCIDENT_ID = "pagerduty:P1042"
MESSAGE = (
    "On November 19 some customers saw errors from the checkout API for five hours. "
    "A configuration change caused the service degradation; it has been reverted."
)
ALICE = Person(email="alice@example.com", name="Alice Chen", pagerduty_id="PALICE1")


class Clock:
    """The daemon's clock, moved by the test: a retry happens later than the first try."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def page() -> AsyncIterator[tuple[FakeStatuspage, StatuspageConnector]]:
    fake = FakeStatuspage(min_interval=0)
    runner, url = await start_fake(fake.make_app())
    config = StatuspageConfig(
        api_key=SecretStr(fake.api_key),
        page_id=fake.page_id,
        base_url=f"{url}/v1/",
        mode="postmortem",
        min_interval_seconds=0,
    )
    async with aiohttp.ClientSession() as session:
        yield fake, StatuspageConnector.from_config(config, session, pacer=KeyedPacer(0))
    await runner.cleanup()


async def _reviewed(engine: AsyncEngine) -> None:
    fields: dict[str, object] = {
        "title": "Checkout API 5xx",
        "reference": "PD-1042",
        "severity": "SEV-1",
        "status": "resolved",
        "created_at": STARTED,
        "resolved_at": RESOLVED,
        "incident_commander": ALICE,
    }
    update = IncidentUpdate.of(Source.PAGERDUTY, "P1042", RESOLVED, fields)
    await save_incident(engine, merge(None, update).record)
    pm = PostMortem(
        incident_id=INCIDENT_ID,
        status=PostMortemStatus.REVIEWED,
        created_at=RESOLVED,
        status_changed_at=NOW - timedelta(hours=1),
        no_follow_ups=True,
        external_message=ExternalMessage(body=MESSAGE),
    )
    await save_postmortem(engine, pm)


async def _publish_job(engine: AsyncEngine, queue: JobQueue, clock: Clock) -> Job:
    await Reconciler(engine, queue, load_policies([POLICY]), clock=clock).reconcile(INCIDENT_ID)
    jobs = await queue.lease("t", limit=1000, lease_seconds=60, now=clock())
    return next(j for j in jobs if j.kind == EFFECT and str(j.payload["key"]).endswith(":publish"))


def _runner(
    engine: AsyncEngine, queue: JobQueue, connector: StatuspageConnector, clock: Clock
) -> EffectRunner:
    performers = publish_performers(status_page=connector, notes=None, clock=clock)
    policies = load_policies([POLICY])
    reconciler = Reconciler(engine, queue, policies, clock=clock)
    return EffectRunner(engine, policies, performers, clock=clock, reconcile=reconciler.request)


async def test_the_postmortem_goes_on_the_page_incident_opened_during_the_outage(
    engine: AsyncEngine, page: tuple[FakeStatuspage, StatuspageConnector]
) -> None:
    fake, connector = page
    theirs = fake.add_incident("Checkout errors", status="resolved")
    theirs["created_at"] = "2026-11-19T14:20:00.000Z"  # opened by support during it
    theirs["name"] = "Checkout API 5xx"
    await _reviewed(engine)
    queue, clock = JobQueue(engine), Clock()
    job = await _publish_job(engine, queue, clock)

    await _runner(engine, queue, connector, clock)(job)

    assert list(fake.incidents) == [theirs["id"]]
    assert theirs["postmortem_body"] == MESSAGE
    effect = await get_effect(engine, str(job.payload["key"]))
    assert effect is not None
    assert (effect.state, effect.vendor_ref) == (EffectState.DONE, theirs["id"])
    assert effect.detail["page_incident_id"] == theirs["id"]
    assert effect.detail["page_incident"] == "found: same name, opened while the incident was open"
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.external_message is not None
    assert pm.external_message.published_ref == theirs["id"]


async def test_none_opened_one_is_created_once_though_the_answer_was_lost(
    engine: AsyncEngine, page: tuple[FakeStatuspage, StatuspageConnector]
) -> None:
    fake, connector = page
    last_month = fake.add_incident("Checkout API 5xx", status="resolved")  # same name, too old
    last_month["created_at"] = "2026-10-02T09:00:00.000Z"
    await _reviewed(engine)
    queue, clock = JobQueue(engine), Clock()
    job = await _publish_job(engine, queue, clock)
    runner = _runner(engine, queue, connector, clock)
    fake.drop_after_commit(method="POST", route="/pages/{page_id}/incidents")
    with pytest.raises(Transient):
        await runner(job)

    clock.now += timedelta(minutes=2)  # the retry, told the outcome is unknown
    await runner(job)

    assert len(fake.incidents) == 2
    [carrier] = [i for i in fake.incidents.values() if i["id"] != last_month["id"]]
    assert carrier["metadata"] == {"pmhub": {"effect_key": str(job.payload["key"])}}
    assert carrier["postmortem_body"] == MESSAGE
    assert last_month["postmortem_body"] is None
    publishes = [e for e in fake.exchanges if e.route.endswith("/postmortem/publish")]
    assert len(publishes) == 1
    effect = await get_effect(engine, str(job.payload["key"]))
    assert effect is not None
    assert effect.vendor_ref == carrier["id"]
    assert effect.detail["url"] == carrier["shortlink"]
    assert str(effect.detail["page_incident"]).startswith("found: the page incident pmhub created")
