"""A storm of channel announcements at Slack's real limits, coalesced (issue 16).

`python -m tests.bench.rollup_storm --n 1000 [--postgres URL] [--individual]` runs N
channel announcements through the real performer, store and Slack connector against
the Slack fake enforcing one post a second per channel (429 otherwise), with the job
queue holding the storm's announcement jobs (the coalescing signal) and `--slots`
of them running at a time, as the worker's slots do. It prints the wall time, the
channel's posts and edits, 429s, the lines shown, and the slot-seconds an
announcement held (what it took from the DMs and the calendar).

This measures the announcement path alone, not the whole daemon (`make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp
from sqlalchemy import update

from connectors.common.fakeserver import start_fake
from connectors.slack.fake import FakeSlack
from hub.engine.effects import Performer
from hub.errors import RateLimited
from hub.jobs.kinds import effect_key
from hub.store.db import create_engine, transaction
from hub.store.migrate import upgrade
from hub.store.tables import jobs
from tests.engine.test_rollup_storm import (
    INCIDENTS,
    SLACK_ALICE,
    announcement,
    channel_lines,
    draft,
    incident,
    replica,
    waiting,
)


async def storm(n: int, url: str, slots: int, threshold: int) -> None:
    slack = FakeSlack(min_post_interval=1.0)
    slack.add_user(SLACK_ALICE, "Alice Chen", "alice@example.com")
    slack.add_channel(INCIDENTS, "incidents")
    runner, base = await start_fake(slack.make_app())
    engine = create_engine(url)
    await upgrade(engine)
    subjects = [incident(i) for i in range(1, n + 1)]
    await waiting(engine, subjects)
    queue: asyncio.Queue[tuple[int, bool]] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait((i, False))
    held: list[float] = []
    runs = 0
    try:
        async with aiohttp.ClientSession() as session:
            perform: Performer = replica(
                slack, base, engine, session, paced=True, threshold=threshold, retried=False
            )

            async def slot() -> None:
                # As a worker slot: a job told to come back later (RateLimited) gives the
                # slot back and is queued again after Retry-After, outcome unknown.
                nonlocal runs
                while True:
                    i, unknown = await queue.get()
                    if i < 0:
                        return
                    subject = subjects[i]
                    request = announcement(subject, draft(subject), unknown=unknown)
                    began = time.monotonic()
                    runs += 1
                    try:
                        await perform(request)
                    except RateLimited as later:
                        held.append(time.monotonic() - began)
                        loop = asyncio.get_running_loop()
                        loop.call_later(later.retry_after or 0, queue.put_nowait, (i, True))
                        continue
                    held.append(time.monotonic() - began)
                    async with transaction(engine) as conn:
                        key = effect_key(f"pm:{subject.id}:owner:announce")
                        done = update(jobs).where(jobs.c.dedupe_key == key)
                        await conn.execute(done.values(state="done"))
                    finished.append(i)
                    if len(finished) == n:
                        for _ in range(slots):
                            queue.put_nowait((-1, False))

            finished: list[int] = []
            started = time.monotonic()
            await asyncio.gather(*(slot() for _ in range(slots)))
            wall = time.monotonic() - started
    finally:
        await engine.dispose()
        await runner.cleanup()
    lines = channel_lines(slack)
    print(
        f"n={n} db={url.split(':', maxsplit=1)[0]} slots={slots} wall={wall:.1f}s "
        f"posts={slack.calls['chat.postMessage']} edits={slack.calls['chat.update']} "
        f"429s={sum(slack.rate_limited.values())} lines={len(lines)} unique={len(set(lines))} "
        f"runs={runs} slot-s per announcement={sum(held) / n:.3f} longest run={max(held):.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--individual", action="store_true", help="never coalesce")
    args = parser.parse_args()
    threshold = 10**9 if args.individual else 60
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or f"sqlite+aiosqlite:///{Path(folder) / 'storm.db'}"
        asyncio.run(storm(args.n, url, args.slots, threshold))


if __name__ == "__main__":
    main()
