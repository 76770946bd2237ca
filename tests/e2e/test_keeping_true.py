"""The whole daemon keeps Slack and the calendar true (issue 5), over HTTP, on the fakes.

PagerDuty (TLS), Slack and Google Calendar fakes together: a SEV-1 is resolved, the
owner is DMed, the channel hears it, the meeting is booked. Then things change - the
meeting gets booked after the DM went out, the owner hands off, a person moves the
meeting past the deadline, the same webhook arrives again - and the test counts, on
the fakes, what pmhub sent: an edit where a message already said it, a new DM only
for a new person or a new fact, a patch of the event's attendees and description but
never of its time, and nothing twice.

"Now" is pinned to a Thursday in the future (a few store writes use the system clock)
with a clock the test can move forward, so the hourly read-back of the event comes due.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.engine.performers.calendar import REOPENED_NOTE
from hub.runtime import utc_now
from hub.store.effects import get_effect
from tests.e2e.calendar_support import (
    ALICE,
    INCIDENT,
    POSTMORTEM,
    Fakes,
    calendar_config,
    event_times,
    fakes,
    postmortem,
    resolve_incident,
    settle,
    z,
)
from tests.e2e.conftest import INCIDENTS_CHANNEL, SLACK_ALICE, Served
from tests.support.daemon import Daemon, running_daemon
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["fakes", "loopback_tls"]

NY = ZoneInfo("America/New_York")
SLACK_CAROL = "U0CAROL001"
PATCH_ROUTE = "/calendar/v3/calendars/{calendarId}/events/{eventId}"
INSERT_ROUTE = "/calendar/v3/calendars/{calendarId}/events"


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, month, day, hour, minute, tzinfo=NY)


# SEV-1 resolved Thursday 2030-11-14 14:05 New York: due Sunday 14:05. The writing and
# review time would end Saturday, so the meeting takes the latest slot before the
# deadline where everyone is free (they all are): Friday 16:30.
CREATED, RESOLVED, NOW = ny(11, 14, 9), ny(11, 14, 14, 5), ny(11, 14, 14, 10)
DEADLINE = ny(11, 17, 14, 5)
BOOKED = ny(11, 15, 16, 30)
ALICE_DM = f"{POSTMORTEM}:owner:notify:email:alice@example.com/dm"
CAROL_DM = f"{POSTMORTEM}:owner:notify:email:carol@example.com/dm"
ANNOUNCEMENT = f"{POSTMORTEM}:owner:announce"
LATE = f"{POSTMORTEM}:meeting:late:"


class MovableClock:
    """The daemon's clock: `start` now, then real time, and forward on demand."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - utc_now()

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def config(
    tmp_path: Path,
    db_url: str,
    fakes: Fakes,
    slack_fake: Served[FakeSlack],
    loopback_tls: LoopbackTls,
) -> Path:
    path = calendar_config(tmp_path, db_url, fakes, loopback_tls)
    slack = (
        "connectors:\n"
        "  slack:\n"
        f"    bot_token: {slack_fake.fake.token}\n"
        f"    base_url: {slack_fake.base_url}/api/\n"
        f"    incidents_channel: {INCIDENTS_CHANNEL}\n"
    )
    text = path.read_text().replace("connectors:\n", slack)
    # Slack paces posts a second apart per channel: a long lease keeps renewals out.
    path.write_text(text.replace("lease_seconds: 5", "lease_seconds: 60"))
    # Carol triggered the incident; she has a Slack account here, so a hand-off DMs her.
    slack_fake.fake.add_user(SLACK_CAROL, "Carol Diaz", "carol@example.com")
    # A slower calendar: the owner's DM is out before the meeting is booked, so
    # booking it has something to edit.
    fakes.calendar.latency = 0.3
    return path


def posts(slack: FakeSlack, where: str, key: str) -> list[dict[str, Any]]:
    """pmhub's messages in a channel (or a user's DM) whose effect key starts with `key`."""
    channel = slack.dms.get(where, where)
    return [m for m in slack.posts(channel) if (effect_key_of(m) or "").startswith(key)]


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []))


def date_token(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^"


def counts(slack: FakeSlack, fakes: Fakes) -> dict[str, int]:
    cal = fakes.calendar
    return {
        "posts": slack.calls["chat.postMessage"],
        "edits": slack.calls["chat.update"],
        "inserts": cal.calls[("POST", INSERT_ROUTE)],
        "patches": cal.calls[("PATCH", PATCH_ROUTE)],
    }


def posted_outside(slack: FakeSlack, user: str) -> dict[str, int]:
    """How many messages pmhub posted in each channel, except `user`'s DM."""
    dm = slack.dms.get(user)
    return {channel: len(slack.posts(channel)) for channel in slack.messages if channel != dm}


def time_patches(fakes: Fakes) -> list[Any]:
    """PATCH bodies that touched the event's time: pmhub must never send one."""
    return [
        e.body
        for e in fakes.calendar.exchanges
        if e.method == "PATCH" and isinstance(e.body, dict) and {"start", "end"} & e.body.keys()
    ]


def booked_and_told(daemon: Daemon, slack: FakeSlack) -> Callable[[], Awaitable[bool]]:
    """The meeting is booked, and the owner's DM and the announcement show it."""

    async def check() -> bool:
        body = await postmortem(daemon)
        if body is None or body["meeting"] is None:
            return False
        link = body["meeting"]["html_link"]
        told = posts(slack, SLACK_ALICE, ALICE_DM) + posts(slack, INCIDENTS_CHANNEL, ANNOUNCEMENT)
        return len(told) == 2 and all(link in shown(m) for m in told)

    return check


async def replay(daemon: Daemon, fakes: Fakes, clock: MovableClock) -> None:
    """The same resolution again, as a new delivery (PagerDuty retries and re-sends)."""
    await resolve_incident(daemon, fakes, priority="P1", created=CREATED, resolved=RESOLVED)
    await settle(daemon)


async def start(daemon: Daemon, fakes: Fakes, slack: FakeSlack, clock: MovableClock) -> None:
    await resolve_incident(daemon, fakes, priority="P1", created=CREATED, resolved=RESOLVED)
    await settle(daemon, booked_and_told(daemon, slack))


async def test_the_owner_dm_and_the_announcement_are_edited_once_the_meeting_is_booked(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, MovableClock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await start(daemon, fakes, slack, clock)
        before = counts(slack, fakes)
        await replay(daemon, fakes, clock)
        after = counts(slack, fakes)
        dm_effect = await get_effect(daemon.runtime.engine, ALICE_DM.removesuffix("/dm"))

    [event] = fakes.calendar.stored()
    assert event_times(event)[0] == BOOKED
    # One DM, posted before the meeting was booked and then edited to show it.
    [dm] = posts(slack, SLACK_ALICE, ALICE_DM)
    assert "edited" in dm
    assert event["htmlLink"] in shown(dm)
    assert date_token(BOOKED) in shown(dm)
    assert dm_effect is not None
    assert dm_effect.detail["edited"] is True
    # One announcement in the channel, edited the same way.
    [announcement] = posts(slack, INCIDENTS_CHANNEL, ANNOUNCEMENT)
    assert "edited" in announcement
    assert f"<@{SLACK_ALICE}>" in shown(announcement)
    assert event["htmlLink"] in shown(announcement)
    # The same webhook again: nothing posted, edited, booked or patched.
    assert after == before
    assert time_patches(fakes) == []


async def test_a_hand_off_edits_the_announcement_dms_the_new_owner_and_patches_the_event(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, MovableClock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await start(daemon, fakes, slack, clock)
        elsewhere = posted_outside(slack, SLACK_CAROL)
        response = await daemon.client.post(
            f"/api/v1/postmortems/{POSTMORTEM}/owner",
            json={"email": "carol@example.com", "reason": "Alice is on leave"},
            headers={**daemon.admin_headers(), "Idempotency-Key": "handoff-1"},
        )
        assert response.status == 200, await response.text()

        async def handed_over() -> bool:
            [event] = fakes.calendar.stored()
            invited = {a["email"] for a in event["attendees"]}
            return (
                bool(posts(slack, SLACK_CAROL, CAROL_DM))
                and "You handed off" in shown(posts(slack, SLACK_ALICE, ALICE_DM)[0])
                and f"<@{SLACK_CAROL}>" in shown(posts(slack, INCIDENTS_CHANNEL, ANNOUNCEMENT)[0])
                and "carol@example.com" in invited
                and "Post-mortem owner: carol@example.com" in event["description"]
            )

        await settle(daemon, handed_over)
        before = counts(slack, fakes)
        await replay(daemon, fakes, clock)
        after = counts(slack, fakes)

    # Carol, a different person, gets her own DM, showing the meeting already booked.
    [carol_dm] = posts(slack, SLACK_CAROL, CAROL_DM)
    [event] = fakes.calendar.stored()
    assert event["htmlLink"] in shown(carol_dm)
    # Alice's DM is still the one, edited: Carol owns it now, and no button is left in
    # it (Accept would take it back). The channel's one announcement now names Carol.
    [alice_dm] = posts(slack, SLACK_ALICE, ALICE_DM)
    assert f"<@{SLACK_CAROL}> owns the post-mortem" in shown(alice_dm)
    assert "pm_accept" not in shown(alice_dm)
    [announcement] = posts(slack, INCIDENTS_CHANNEL, ANNOUNCEMENT)
    assert "taken over from Alice Chen (alice@example.com)" in shown(announcement)
    assert f"<@{SLACK_ALICE}>" not in shown(announcement).split("taken over")[0]
    # The hand-off posted to Carol only (her DM, and what the owner now hears); what
    # changed elsewhere was edited in place.
    assert posted_outside(slack, SLACK_CAROL) == elsewhere
    # The event: Carol invited (and everyone invited before kept), the description names
    # her, and its time is the one booked.
    attendees = {a["email"]: a for a in event["attendees"]}
    assert "carol@example.com" in attendees
    assert "alice@example.com" in attendees
    assert event_times(event)[0] == BOOKED
    assert time_patches(fakes) == []
    # The same webhook again changes nothing anywhere.
    assert after == before


async def test_the_owner_is_told_once_per_move_past_the_deadline_and_it_is_not_moved_back(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, MovableClock(NOW)
    monday, tuesday = ny(11, 18, 10), ny(11, 19, 11)
    async with running_daemon(config, clock=clock) as daemon:
        await start(daemon, fakes, slack, clock)
        [event] = fakes.calendar.stored()
        # A person moves the meeting to Monday, after Sunday's deadline.
        fakes.calendar.move_event(event["id"], monday, monday + timedelta(minutes=30))

        def told(count: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return len(posts(slack, SLACK_ALICE, LATE)) >= count

            return check

        clock.advance(timedelta(hours=1))  # the next hourly read-back comes due
        daemon.runtime.queue.wake()
        await settle(daemon, told(1))
        recorded = await postmortem(daemon)
        # Another read-back, and the same webhook again: no second message.
        clock.advance(timedelta(hours=1))
        daemon.runtime.queue.wake()
        await settle(daemon)
        await replay(daemon, fakes, clock)
        once = posts(slack, SLACK_ALICE, LATE)
        # Moved again, still late: told again, once.
        fakes.calendar.move_event(event["id"], tuesday, tuesday + timedelta(minutes=30))
        clock.advance(timedelta(hours=1))
        daemon.runtime.queue.wake()
        await settle(daemon, told(2))
        clock.advance(timedelta(hours=1))
        daemon.runtime.queue.wake()
        await settle(daemon)

    [late] = once
    assert late["text"].endswith(
        f"after its deadline, {DEADLINE.astimezone(UTC):%a %d %b %Y %H:%M} UTC."
    )
    assert date_token(DEADLINE) in shown(late)
    assert date_token(monday) in shown(late)
    assert effect_key_of(late) == f"{LATE}email:alice@example.com@2030-11-18T15:30:00Z"
    # pmhub recorded the person's time, and never moved the event back.
    assert recorded is not None
    assert datetime.fromisoformat(recorded["meeting"]["start"]) == monday
    assert any("after the deadline" in p for p in recorded["plan"]["problems"])
    [event] = fakes.calendar.stored()
    assert event_times(event)[0] == tuesday
    assert time_patches(fakes) == []
    # Two moves, two messages, each once; the owner's DM shows the latest time.
    keys = [effect_key_of(m) for m in posts(slack, SLACK_ALICE, LATE)]
    assert len(keys) == len(set(keys)) == 2
    [dm] = posts(slack, SLACK_ALICE, ALICE_DM)
    assert date_token(tuesday) in shown(dm)


async def deliver(daemon: Daemon, event_type: str, status: str, at: datetime) -> None:
    body, headers = pagerduty_delivery(
        event_type,
        incident_id=INCIDENT,
        extra_data={"status": status, "priority": {"summary": "P1", "id": "PRIP1"}},
        occurred_at=z(at),
    )
    response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
    assert response.status == 202


async def test_a_reopened_incident_is_noted_on_the_event_and_nothing_is_resent(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, MovableClock(NOW)
    reopened_at, resolved_again = ny(11, 14, 14, 40), ny(11, 14, 15, 0)
    pd = fakes.pagerduty
    async with running_daemon(config, clock=clock) as daemon:
        await start(daemon, fakes, slack, clock)
        posted = counts(slack, fakes)["posts"]
        [event] = fakes.calendar.stored()

        # PagerDuty reopens it: open again, no resolution time.
        pd.incidents[INCIDENT].update(status="acknowledged", updated_at=z(reopened_at))
        pd.incidents[INCIDENT].pop("resolved_at", None)
        await deliver(daemon, "incident.reopened", "acknowledged", reopened_at)

        async def noted() -> bool:
            return REOPENED_NOTE in fakes.calendar.stored()[0]["description"]

        await settle(daemon, noted)
        while_open = counts(slack, fakes)

        # Resolved again: the note goes; the new deadline is edited into the messages.
        pd.incidents[INCIDENT].update(
            status="resolved", updated_at=z(resolved_again), resolved_at=z(resolved_again)
        )
        pd.add_log_entry(
            INCIDENT, "resolve_log_entry", created_at=z(resolved_again), agent=("user", ALICE)
        )
        await deliver(daemon, "incident.resolved", "resolved", resolved_again)
        new_deadline = ny(11, 17, 15, 0)

        async def resolved() -> bool:
            [dm] = posts(slack, SLACK_ALICE, ALICE_DM)
            description = fakes.calendar.stored()[0]["description"]
            return REOPENED_NOTE not in description and date_token(new_deadline) in shown(dm)

        await settle(daemon, resolved)

    assert while_open["posts"] == posted  # reopening says nothing in Slack
    assert counts(slack, fakes)["posts"] == posted  # and neither does resolving again
    assert len(posts(slack, INCIDENTS_CHANNEL, ANNOUNCEMENT)) == 1
    assert fakes.calendar.calls[("POST", INSERT_ROUTE)] == 1
    [after] = fakes.calendar.stored()
    assert after["start"] == event["start"]
    assert time_patches(fakes) == []
