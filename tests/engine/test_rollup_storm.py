"""A storm of announcements, coalesced: the performers on the store and the Slack fake.

Requests are built as the effect runner builds them (a real plan; the ledger's
reference and detail from the earlier version of the intent). The backlog is the
real signal: effect jobs for channel announcements waiting in the job queue.
Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.fakeserver import start_fake
from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from connectors.slack.notifier import SlackNotifier
from connectors.slack.rollup_messages import ROLLUP_MAX_LINES
from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers.chat import chat_performers
from hub.engine.performers.rollup import EDIT_WAIT_SECONDS, AnnouncementCoalescer
from hub.errors import RateLimited, Transient
from hub.intake.merge import merge
from hub.jobs.enqueue import enqueue_job
from hub.jobs.kinds import EFFECT, effect_key, effect_payload
from hub.model.incident import Incident, Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.intent import IntentKind
from hub.model.postmortem import Meeting, PostMortem, PostMortemStatus
from hub.policy import evaluate, load_policies
from hub.store.db import create_engine, transaction, utcnow
from hub.store.tables import effects, jobs

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
POLICIES = load_policies([POLICY])
NY = ZoneInfo("America/New_York")
RESOLVED = datetime(2026, 11, 19, 14, 5, tzinfo=NY)
NOW = datetime(2026, 11, 19, 14, 10, tzinfo=NY)
ALICE = Person(email="alice@example.com", name="Alice Chen")
SLACK_ALICE = "U0ALICE001"
INCIDENTS = "C0INCIDNTS"
STORM = 150


def incident(n: int) -> Incident:
    values: dict[str, Any] = {
        "title": f"Checkout API 5xx #{n}",
        "reference": f"PD-{n}",
        "severity": "SEV-1",
        "status": "resolved",
        "created_at": RESOLVED - timedelta(hours=5),
        "resolved_at": RESOLVED,
        "incident_commander": ALICE,
    }
    update = IncidentUpdate.of(Source.PAGERDUTY, f"P{n}", RESOLVED, values)
    return merge(None, update).record.incident


def draft(subject: Incident, **changes: Any) -> PostMortem:
    return PostMortem(incident_id=subject.id, created_at=NOW, **changes)


def booked(subject: Incident) -> PostMortem:
    start = datetime(2026, 11, 20, 10, 30, tzinfo=NY)
    meeting = Meeting(
        event_ref=f"evt-{subject.source_id}",
        start=start,
        end=start + timedelta(minutes=30),
        calendar="Incident Post-Mortem Meetings",
        invitees=("alice@example.com",),
        html_link=f"https://calendar.example.com/event?eid=evt-{subject.source_id}",
    )
    return draft(subject, meeting=meeting)


def announcement(
    subject: Incident,
    pm: PostMortem,
    *,
    earlier: EffectOutcome | None = None,
    unknown: bool = False,
) -> EffectRequest:
    plan = evaluate(subject, pm, POLICIES, NOW)
    intent = plan.intent_of(IntentKind.ANNOUNCE_OWNER)
    assert intent is not None, plan.notes
    return EffectRequest(
        intent,
        subject,
        pm,
        plan,
        unknown_outcome=unknown,
        earlier_ref=earlier.vendor_ref if earlier else None,
        earlier_detail=earlier.detail if earlier else {},
    )


async def waiting(engine: AsyncEngine, subjects: list[Incident]) -> None:
    """The storm's announcements queued as the reconciler queues them."""
    async with transaction(engine) as conn:
        for subject in subjects:
            key = f"pm:{subject.id}:owner:announce"
            await enqueue_job(
                conn,
                EFFECT,
                effect_payload(subject.id, key, "slack"),
                dedupe_key=effect_key(key),
            )


@pytest.fixture
def slack() -> FakeSlack:
    fake = FakeSlack(min_post_interval=0.01)
    fake.add_user(SLACK_ALICE, "Alice Chen", "alice@example.com")
    fake.add_channel(INCIDENTS, "incidents")
    return fake


@pytest.fixture
async def slack_url(slack: FakeSlack) -> AsyncIterator[str]:
    runner, url = await start_fake(slack.make_app())
    yield url
    await runner.cleanup()


@pytest.fixture
async def announce(
    slack: FakeSlack, slack_url: str, engine: AsyncEngine
) -> AsyncIterator[Performer]:
    async with aiohttp.ClientSession() as session:
        yield replica(slack, slack_url, engine, session)


def replica(
    slack: FakeSlack,
    url: str,
    engine: AsyncEngine,
    session: aiohttp.ClientSession,
    *,
    paced: bool = False,
    threshold: int = 60,
    retried: bool = True,
) -> Performer:
    """One pmhub process's announcement performer: its engine and Slack connector
    (`paced`: at Slack's real one post a second, for the benchmark)."""
    config = SlackConfig(
        bot_token=SecretStr(slack.token),
        base_url=f"{url}/api/",
        incidents_channel=INCIDENTS,
        post_interval_seconds=1.0 if paced else 0.01,
    )
    notifier = SlackNotifier(SlackConnector.from_config(config, session), config)
    wait = EDIT_WAIT_SECONDS if paced else 0.02
    coalescer = AnnouncementCoalescer(engine, threshold=threshold, edit_wait_seconds=wait)
    perform = chat_performers(notifier, coalescer=coalescer)[IntentKind.ANNOUNCE_OWNER]
    if not retried:
        return perform

    async def as_the_queue_runs_it(request: EffectRequest) -> EffectOutcome:
        # A job told to come back later (its line waits for the roll-up's next edit)
        # is retried after Retry-After, its ledger row still pending: outcome unknown.
        while True:
            try:
                return await perform(request)
            except RateLimited as later:
                await asyncio.sleep(later.retry_after or 0)
                request = dataclasses.replace(request, unknown_outcome=True)

    return as_the_queue_runs_it


@pytest.fixture(autouse=True)
def fast_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    # Slack's Tier 3 spacing (1.2 s) is the pacer's business (tested there); here it
    # would only make the storm slow.
    monkeypatch.setattr("connectors.slack.connector.UPDATE_INTERVAL_SECONDS", 0.01)


def channel_lines(slack: FakeSlack) -> list[str]:
    """Every post-mortem line shown in the channel's roll-ups, as the channel shows them."""
    lines: list[str] = []
    for message in slack.posts(INCIDENTS):
        for block in message.get("blocks") or ():
            if block["type"] == "section":
                lines.append(block["text"]["text"])
    return lines


async def test_a_storm_of_150_announcements_is_a_handful_of_messages_naming_every_one(
    slack: FakeSlack, engine: AsyncEngine, announce: Performer
) -> None:
    subjects = [incident(n) for n in range(1, STORM + 1)]
    await waiting(engine, subjects)

    outcomes = await asyncio.gather(*(announce(announcement(s, draft(s))) for s in subjects))

    posts = slack.posts(INCIDENTS)
    assert len(posts) == -(-STORM // ROLLUP_MAX_LINES)  # 4 messages, not 150
    assert slack.calls["chat.postMessage"] == len(posts)
    lines = channel_lines(slack)
    assert len(lines) == STORM == len(set(lines))
    for subject in subjects:
        [line] = [line for line in lines if f"{subject.reference} " in line]
        assert "*Owner:* <@U0ALICE001>" in line
        assert "*Status:* Draft" in line
    # Each effect is done with the roll-up that shows its line.
    for outcome in outcomes:
        assert outcome.detail["rollup"].startswith(f"rollup:{INCIDENTS}:")
        channel, ts = str(outcome.vendor_ref).split("/")
        shown = json.dumps(slack.find_message(channel, ts))
        assert outcome.detail["rollup"] in {effect_key_of(p) for p in posts}
        assert shown.count(":memo:") >= 1
    # Group commit: far fewer edits than lines.
    assert slack.calls["chat.update"] < STORM


async def test_a_line_is_edited_in_place_as_its_post_mortem_progresses(
    slack: FakeSlack, engine: AsyncEngine, announce: Performer
) -> None:
    subjects = [incident(n) for n in range(1, 71)]
    await waiting(engine, subjects)
    first = await asyncio.gather(*(announce(announcement(s, draft(s))) for s in subjects))
    posted = slack.calls["chat.postMessage"]

    progressed = subjects[5]
    again = await announce(announcement(progressed, booked(progressed), earlier=first[5]))

    assert again.vendor_ref == first[5].vendor_ref
    assert again.detail["rollup"] == first[5].detail["rollup"]
    assert slack.calls["chat.postMessage"] == posted  # edited, not posted
    [line] = [line for line in channel_lines(slack) if "PD-6 " in line]
    assert "evt-P6" in line
    assert "not scheduled" not in line
    assert len(channel_lines(slack)) == 70

    # In review: the intent changed (its payload carries the status past draft), so it
    # is re-run and the same line says so.
    in_review = booked(progressed).model_copy(update={"status": PostMortemStatus.IN_REVIEW})
    changed = announcement(progressed, in_review, earlier=again)
    assert (
        changed.intent.fingerprint()
        != announcement(progressed, booked(progressed)).intent.fingerprint()
    )
    await announce(changed)
    [line] = [line for line in channel_lines(slack) if "PD-6 " in line]
    assert "*Status:* In Review" in line
    assert slack.calls["chat.postMessage"] == posted


async def test_below_the_threshold_each_announcement_is_its_own_message(
    slack: FakeSlack, engine: AsyncEngine, announce: Performer
) -> None:
    subjects = [incident(n) for n in range(1, 11)]
    await waiting(engine, subjects)

    outcomes = await asyncio.gather(*(announce(announcement(s, draft(s))) for s in subjects))

    assert slack.calls["chat.postMessage"] == 10
    assert all("rollup" not in outcome.detail for outcome in outcomes)
    keys = {effect_key_of(p) for p in slack.posts(INCIDENTS)}
    assert keys == {f"pm:{s.id}:owner:announce" for s in subjects}


async def test_a_roll_up_post_cut_off_mid_way_is_found_not_posted_twice(
    slack: FakeSlack, engine: AsyncEngine, announce: Performer
) -> None:
    subjects = [incident(n) for n in range(1, 71)]
    await waiting(engine, subjects)
    # The roll-up's post reaches Slack but its answer is lost (a crash, a cut line).
    slack.drop_after_commit(method="chat.postMessage")
    with pytest.raises(Transient):
        await announce(announcement(subjects[0], draft(subjects[0])))
    assert len(slack.posts(INCIDENTS)) == 1

    # The job is retried (its ledger row still pending: outcome unknown), and the rest
    # of the storm arrives meanwhile.
    retried = announce(announcement(subjects[0], draft(subjects[0]), unknown=True))
    rest = (announce(announcement(s, draft(s))) for s in subjects[1:])
    outcomes = await asyncio.gather(retried, *rest)

    posts = slack.posts(INCIDENTS)
    assert len(posts) == 2  # 70 lines: the first roll-up (found again) and one more
    assert len({o.vendor_ref for o in outcomes}) == 2
    lines = channel_lines(slack)
    assert len(lines) == 70 == len(set(lines))
    assert sum("PD-1 " in line for line in lines) == 1


async def test_two_replicas_share_the_same_roll_ups(
    slack: FakeSlack, slack_url: str, engine: AsyncEngine, db_url: str, announce: Performer
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite is one process by design")
    other_engine = create_engine(db_url)
    try:
        async with aiohttp.ClientSession() as session:
            other = replica(slack, slack_url, other_engine, session)
            subjects = [incident(n) for n in range(1, STORM + 1)]
            await waiting(engine, subjects)
            performers = (announce, other)
            await asyncio.gather(
                *(performers[n % 2](announcement(s, draft(s))) for n, s in enumerate(subjects))
            )
    finally:
        await other_engine.dispose()

    assert len(slack.posts(INCIDENTS)) == -(-STORM // ROLLUP_MAX_LINES)
    lines = channel_lines(slack)
    assert len(lines) == STORM == len(set(lines))


async def test_the_tail_of_a_storm_joins_its_roll_up_then_quiet_posts_alone(
    slack: FakeSlack, engine: AsyncEngine, announce: Performer
) -> None:
    storm = [incident(n) for n in range(1, 71)]
    await waiting(engine, storm)
    await asyncio.gather(*(announce(announcement(s, draft(s))) for s in storm))
    await finished(engine, storm)
    posts = len(slack.posts(INCIDENTS))

    # Five stragglers, under the threshold, within the minute: lines of the roll-up.
    tail = [incident(n) for n in range(71, 76)]
    await waiting(engine, tail)
    outcomes = await asyncio.gather(*(announce(announcement(s, draft(s))) for s in tail))
    assert all("rollup" in outcome.detail for outcome in outcomes)
    assert len(slack.posts(INCIDENTS)) == posts
    await finished(engine, tail)

    # A minute later, nothing waiting but this one: no storm, its own message as ever.
    async with transaction(engine) as conn:
        a_minute_ago = utcnow() - timedelta(minutes=1, seconds=1)
        older = update(effects).where(effects.c.kind == "rollup").values(updated_at=a_minute_ago)
        await conn.execute(older)
    quiet = incident(99)
    await waiting(engine, [quiet])
    alone = await announce(announcement(quiet, draft(quiet)))
    assert "rollup" not in alone.detail
    assert len(slack.posts(INCIDENTS)) == posts + 1


async def finished(engine: AsyncEngine, subjects: list[Incident]) -> None:
    keys = [effect_key(f"pm:{s.id}:owner:announce") for s in subjects]
    async with transaction(engine) as conn:
        await conn.execute(update(jobs).where(jobs.c.dedupe_key.in_(keys)).values(state="done"))


async def test_a_deleted_roll_up_is_posted_again_with_every_line(
    slack: FakeSlack, engine: AsyncEngine, announce: Performer
) -> None:
    subjects = [incident(n) for n in range(1, 71)]
    await waiting(engine, subjects)
    first = await asyncio.gather(*(announce(announcement(s, draft(s))) for s in subjects))
    # Someone deletes the first roll-up (40 lines) from the channel.
    channel, ts = str(first[0].vendor_ref).split("/")
    slack.messages[channel].remove(slack.find_message(channel, ts) or {})

    progressed = subjects[0]
    again = await announce(announcement(progressed, booked(progressed), earlier=first[0]))

    assert again.vendor_ref != first[0].vendor_ref
    assert again.detail["rollup"] == first[0].detail["rollup"]
    lines = channel_lines(slack)
    assert len(lines) == 70 == len(set(lines))
    [line] = [line for line in lines if "PD-1 " in line]
    assert "evt-P1" in line
