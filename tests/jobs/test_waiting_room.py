"""Head-of-line blocking (issue 16): a job waiting for a vendor's turn lends its slot.

The Slack fake at the HTTP boundary, the pacer the daemon wires (`hub.pacing`: in
memory on SQLite, the shared ledger on PostgreSQL) and a real worker. The incidents
channel's pace is set to one post an hour, so every post after the first is backed up
for the whole test: whatever else runs, runs beside posts that are waiting.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.blocks import ChatMessage
from connectors.slack.fake import FakeSlack
from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.worker import JobHandler
from hub.wiring.pacing import pacer_for
from tests.jobs.test_worker import enqueue, running
from tests.store.helpers import wait_for_state

INCIDENTS = "C0INCIDNTS"
ELSEWHERE = "C0ELSEWHRE"  # another channel: its own pace, nobody waiting for it
AN_HOUR = 3600.0


@pytest.fixture
async def chat(queue: JobQueue) -> AsyncIterator[tuple[FakeSlack, SlackConnector]]:
    fake = FakeSlack()
    fake.add_channel(INCIDENTS, "incidents")
    fake.add_channel(ELSEWHERE, "elsewhere")
    runner, url = await start_fake(fake.make_app())
    config = SlackConfig.model_validate(
        {
            "bot_token": SecretStr(FakeSlack.token),
            "base_url": f"{url}/api/",
            "incidents_channel": INCIDENTS,
        }
    )
    pacer = pacer_for(queue.engine, AN_HOUR, namespace="slack")
    try:
        async with aiohttp.ClientSession() as session:
            yield fake, SlackConnector.from_config(config, session, pacer=pacer)
    finally:
        await runner.cleanup()


def handlers(chat: SlackConnector) -> dict[str, JobHandler]:
    async def announce(job: Job) -> None:
        await chat.post(INCIDENTS, ChatMessage(text=f"post {job.id}"), effect_key=f"a:{job.id}")

    async def book(job: Job) -> None:  # stands for a meeting or a DM: no shared pace
        await chat.post(ELSEWHERE, ChatMessage(text=f"book {job.id}"), effect_key=f"b:{job.id}")

    return {"announce": announce, "book": book}


async def states(queue: JobQueue, ids: list[int]) -> list[JobState]:
    jobs = [await queue.get(job_id) for job_id in ids]
    return [job.state for job in jobs if job is not None]


async def test_other_work_runs_while_every_slot_would_wait_for_the_channel(
    queue: JobQueue, chat: tuple[FakeSlack, SlackConnector]
) -> None:
    fake, connector = chat
    posts = [await enqueue(queue, "announce") for _ in range(5)]
    booking = await enqueue(queue, "book")  # leased after the posts: it is behind them

    async with running(queue, handlers(connector), concurrency=2) as worker:
        await wait_for_state(queue, booking, JobState.DONE)
        # The posts keep the channel's order and pace: one sent, the others waiting,
        # leased (their leases kept by the heartbeat) and holding no slot.
        # (Which of the first two went first is up to the two slots that leased them.)
        assert len(fake.posts(INCIDENTS)) == 1
        assert sorted(await states(queue, posts)) == [JobState.DONE] + [JobState.RUNNING] * 4
        assert worker.parking.waiting == 4
        assert len(fake.posts(ELSEWHERE)) == 1
    # Stopping gives the waiting posts back, to be sent once by whoever leases them.
    assert sorted(await states(queue, posts)) == [JobState.DONE] + [JobState.PENDING] * 4
    assert len(fake.posts(INCIDENTS)) == 1


async def test_a_full_waiting_room_reschedules_instead_of_holding_a_slot(
    queue: JobQueue, chat: tuple[FakeSlack, SlackConnector]
) -> None:
    fake, connector = chat
    posts = [await enqueue(queue, "announce") for _ in range(4)]
    booking = await enqueue(queue, "book")

    async with running(queue, handlers(connector), concurrency=1, max_waiting=1) as worker:
        await wait_for_state(queue, booking, JobState.DONE)
        assert (
            await states(queue, posts) == [JobState.DONE, JobState.RUNNING] + [JobState.PENDING] * 2
        )
        assert worker.parking.waiting == 1
        sent = await queue.get(posts[0])
        for job_id in posts[2:]:
            # Rescheduled behind the backlog, not failed: no retry horizon started.
            job = await queue.get(job_id)
            assert job is not None
            assert sent is not None
            assert (job.last_error or "").startswith("LaneBacklogged")
            assert job.first_failed_at is None
            assert job.run_at > sent.updated_at
    assert len(fake.posts(INCIDENTS)) == 1


async def test_jobs_sent_away_come_back_one_interval_apart_not_as_a_herd(
    queue: JobQueue, chat: tuple[FakeSlack, SlackConnector]
) -> None:
    """Issue 16: the jobs a full room sends away used to be given the same return time,
    came back together, found the room full again and were sent away again, leaving
    the channel idle in between. Each now returns one channel interval after the one
    sent away before it, the pace at which the channel can take them."""
    fake, connector = chat
    posts = [await enqueue(queue, "announce") for _ in range(6)]
    booking = await enqueue(queue, "book")

    async with running(queue, handlers(connector), concurrency=1, max_waiting=1):
        await wait_for_state(queue, booking, JobState.DONE)
        jobs = [await queue.get(job_id) for job_id in posts]
    # One posted, one waiting in the room (of one), four sent away.
    returns = sorted(
        job.run_at
        for job in jobs
        if job is not None and (job.last_error or "").startswith("LaneBacklogged")
    )
    assert len(returns) == 4
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(returns)]
    # One interval (an hour here) apart, give or take the moments between the runs.
    assert all(gap > AN_HOUR / 2 for gap in gaps), gaps
    assert len(fake.posts(INCIDENTS)) == 1
