"""Issue 13, "Scheduling that serves the process": the whole daemon, each case by its name.

PagerDuty (TLS), Google Calendar and Slack fakes, the shipped PagerDuty policy, and a
clock pinned to a known day that the test moves forward (so read-backs and reminders
come due). Each case must end with a named person told exactly once - visible on the
Slack fake - and no dead job and no silent state:

* the earliest slot no longer defeats the review (writing and review time first);
* no working time before the deadline (SEV-1 before the MLK weekend): owner and
  commander each told once, with the deadline, the reason and a proposed time; the
  policy's reminders keep coming;
* everyone busy: booked at the least-conflicting time, the owner told who cannot come;
* the owner on vacation counts like any required invitee;
* a person cancels the meeting: told once, pmhub waits, a person links the one they
  booked (`/postmortem meeting <link>`); or, with `rebook_when_cancelled`, a deleted
  meeting is booked again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from connectors.google_calendar.fake import FakeGoogleCalendar
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.jobs.queue import JobState
from tests.e2e.calendar_support import (
    ALICE_EMAIL,
    BOB_EMAIL,
    ENG_MANAGERS,
    INSERT_ROUTE,
    POLICIES,
    POSTMORTEM,
    PRODUCT,
    SRE,
    Fakes,
    calendar_config,
    event_times,
    fakes,
    postmortem,
    resolve_incident,
    settle,
)
from tests.e2e.conftest import INCIDENTS_CHANNEL, SLACK_ALICE, SLACK_BOB, Served
from tests.e2e.test_keeping_true import MovableClock
from tests.support.daemon import Daemon, running_daemon
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["fakes", "loopback_tls"]

NY = ZoneInfo("America/New_York")
SLACK_SECRET = "slack-signing-secret-sched-0123456789"
PATCH_ROUTE = "/calendar/v3/calendars/{calendarId}/events/{eventId}"
OWNER_DM = f"{POSTMORTEM}:owner:notify:email:alice@example.com/dm"
BOOKED_REPORT = f"{POSTMORTEM}:meeting:booked:"
NO_SLOT = f"{POSTMORTEM}:meeting:no-slot:"
CANCELLED = f"{POSTMORTEM}:meeting:cancelled:"


def ny(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


# A Monday in the future (store writes use the system clock too): a SEV-2 resolved at
# 09:50 or 10:00, due five business days later.
MONDAY = ny(2030, 11, 18, 10)


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
    # `/postmortem` over the signed endpoint, beside the PagerDuty source.
    text = text.replace("admin:", f"  slack:\n    signing_secret: {SLACK_SECRET}\nadmin:", 1)
    # Slack paces posts a second apart per channel: a long lease keeps renewals out.
    path.write_text(text.replace("lease_seconds: 5", "lease_seconds: 60"))
    return path


def rebooking(config: Path, tmp_path: Path) -> Path:
    """The shipped policy, with `rebook_when_cancelled: true`."""
    policy = tmp_path / "rebooking.yaml"
    text = POLICIES.read_text()
    assert "rebook_when_cancelled: false" in text
    policy.write_text(text.replace("rebook_when_cancelled: false", "rebook_when_cancelled: true"))
    config.write_text(config.read_text().replace(str(POLICIES), str(policy)))
    return config


def posts(slack: FakeSlack, where: str, key: str) -> list[dict[str, Any]]:
    """pmhub's messages in a channel (or a user's DM) whose effect key starts with `key`."""
    channel = slack.dms.get(where, where)
    return [m for m in slack.posts(channel) if (effect_key_of(m) or "").startswith(key)]


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []))


def date_token(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^"


async def no_dead_jobs(daemon: Daemon) -> None:
    dead = await daemon.runtime.queue.list_jobs(state=JobState.DEAD, limit=100)
    assert [(job.kind, job.payload, job.last_error) for job in dead] == []


async def advance(daemon: Daemon, clock: MovableClock, delta: timedelta) -> None:
    clock.advance(delta)
    daemon.runtime.queue.wake()
    await settle(daemon)


def booked(daemon: Daemon) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        body = await postmortem(daemon)
        return body is not None and body["meeting"] is not None

    return check


# -- the earliest slot no longer defeats the review ------------------------------------


async def test_a_sev2_resolved_at_0950_is_booked_after_the_writing_and_review_time(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    resolved = MONDAY.replace(hour=9, minute=50)
    clock = MovableClock(resolved + timedelta(minutes=5))
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P2", created=resolved.replace(hour=8), resolved=resolved
        )
        await settle(daemon, booked(daemon))
        body = await postmortem(daemon)
        await no_dead_jobs(daemon)

    [event] = fakes.calendar.stored()
    # Not Monday 11:30: a business day of writing, then 24h for the review.
    assert event_times(event)[0] == ny(2030, 11, 20, 10)
    assert body is not None
    assert body["plan"]["meeting"]["not_before"] == ny(2030, 11, 20, 9, 50).isoformat()
    # Everyone free, and after the review time: nothing to report to the owner.
    assert posts(slack_fake.fake, SLACK_ALICE, BOOKED_REPORT) == []
    assert len(posts(slack_fake.fake, SLACK_ALICE, OWNER_DM)) == 1


# -- no slot is not a dead job ---------------------------------------------------------

# SEV-1 resolved Friday 15 Jan 2027 17:30 New York; Monday 18 Jan is MLK Day, so the
# deadline (Monday 17:30) has no working hours before it.
MLK_RESOLVED = ny(2027, 1, 15, 17, 30)
MLK_DEADLINE = ny(2027, 1, 18, 17, 30)
PROPOSED = ny(2027, 1, 19, 9)


async def test_no_working_time_before_the_deadline_reaches_owner_and_commander_once_each(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, MovableClock(MLK_RESOLVED + timedelta(minutes=5))
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon,
            fakes,
            priority="P1",
            created=MLK_RESOLVED - timedelta(hours=4),
            resolved=MLK_RESOLVED,
        )
        await settle(daemon)
        # Alice acknowledged, so she commands the incident and owns the post-mortem.
        [told_alone] = posts(slack, SLACK_ALICE, NO_SLOT)
        # She hands the post-mortem to Bob: he is told; her message now names him.
        response = await daemon.client.post(
            f"/api/v1/postmortems/{POSTMORTEM}/owner",
            json={"email": BOB_EMAIL, "reason": "Alice is off on Tuesday"},
            headers={**daemon.admin_headers(), "Idempotency-Key": "handoff-mlk"},
        )
        assert response.status == 200, await response.text()
        await settle(daemon)
        body = await postmortem(daemon)
        # The escalation at the deadline reaches both (the policy's `overdue` reminder).
        await advance(daemon, clock, MLK_DEADLINE + timedelta(minutes=1) - clock())
        await no_dead_jobs(daemon)

    assert fakes.calendar.calls[("POST", INSERT_ROUTE)] == 0  # nothing booked, nothing died
    [to_alice] = posts(slack, SLACK_ALICE, NO_SLOT)
    [to_bob] = posts(slack, SLACK_BOB, NO_SLOT)
    assert effect_key_of(to_alice) == effect_key_of(told_alone)
    assert effect_key_of(to_alice) == f"{NO_SLOT}email:{ALICE_EMAIL}"
    assert effect_key_of(to_bob) == f"{NO_SLOT}email:{BOB_EMAIL}"
    for dm in (to_alice, to_bob):
        assert date_token(MLK_DEADLINE) in shown(dm)  # the deadline
        assert "no working time between" in shown(dm)  # the reason
        assert f"*Proposed:* {date_token(PROPOSED)}" in shown(dm)  # a proposed time
        assert "/postmortem meeting" in shown(dm)  # what to do
    # Alice commands the incident; her message (edited, not re-sent) says Bob owns it.
    assert f"<@{SLACK_BOB}> owns the post-mortem" in shown(to_alice)
    assert "edited" in to_alice
    assert body is not None
    assert body["meeting"] is None
    assert any("no working time to book" in p for p in body["plan"]["problems"])
    # And the policy keeps reminding: the overdue escalation, to the owner and the IC.
    for user in (SLACK_ALICE, SLACK_BOB):
        [escalation] = posts(slack, user, f"{POSTMORTEM}:remind:overdue@")
        assert "Escalation" in escalation["text"]
    assert posts(slack, INCIDENTS_CHANNEL, NO_SLOT) == []


# -- everyone busy; the owner on vacation -------------------------------------------------


async def test_everyone_busy_the_owner_is_told_who_cannot_make_it(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    whole_window = (MONDAY.replace(hour=0), ny(2030, 11, 27, 0))
    for email in (ALICE_EMAIL, SRE, ENG_MANAGERS, PRODUCT):  # the owner and three lists
        fakes.calendar.add_person(email, whole_window)
    clock = MovableClock(MONDAY + timedelta(minutes=5))
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P2", created=MONDAY.replace(hour=8), resolved=MONDAY
        )
        await settle(daemon, booked(daemon))
        await advance(daemon, clock, timedelta(hours=1))  # a read-back: nothing new to say
        body = await postmortem(daemon)
        await no_dead_jobs(daemon)

    [event] = fakes.calendar.stored()
    # Every slot has the same four required invitees busy: the first after the review time.
    assert event_times(event)[0] == ny(2030, 11, 20, 10)
    [report] = posts(slack_fake.fake, SLACK_ALICE, BOOKED_REPORT)
    assert effect_key_of(report) == f"{BOOKED_REPORT}{event['id']}:email:{ALICE_EMAIL}"
    cannot = shown(report).split("*Cannot make it (busy then):* ", 1)[1].split(". No time", 1)[0]
    assert cannot == f"<@{SLACK_ALICE}>, {SRE}, {ENG_MANAGERS}, {PRODUCT}"
    assert BOB_EMAIL not in cannot
    assert body is not None
    assert body["meeting"]["booking"]["conflicts"] == [ALICE_EMAIL, SRE, ENG_MANAGERS, PRODUCT]


async def test_the_owner_on_vacation_counts_like_any_required_invitee(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    back = ny(2030, 11, 22, 12)  # away Wednesday to Friday noon
    fakes.calendar.add_person(ALICE_EMAIL, (ny(2030, 11, 20, 0), back))
    clock = MovableClock(MONDAY + timedelta(minutes=5))
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P2", created=MONDAY.replace(hour=8), resolved=MONDAY
        )
        await settle(daemon, booked(daemon))
        await no_dead_jobs(daemon)

    [event] = fakes.calendar.stored()
    assert event_times(event)[0] == back  # the first slot the owner is back for
    assert posts(slack_fake.fake, SLACK_ALICE, BOOKED_REPORT) == []


# -- a person cancels or deletes the meeting -----------------------------------------------


def _signed(form: dict[str, str], now: datetime) -> tuple[bytes, dict[str, str]]:
    body = urlencode(form).encode()
    stamp = str(int(now.timestamp()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SLACK_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


async def slash(daemon: Daemon, slack: Served[FakeSlack], clock: MovableClock, text: str) -> str:
    """`/postmortem <text>` typed by Alice; what pmhub answered her."""
    url = slack.fake.response_url(slack.base_url)
    form = {
        "team_id": "T0PMHUB001",
        "channel_id": "C0SOMEWHERE",
        "user_id": SLACK_ALICE,
        "user_name": "alice",
        "command": "/postmortem",
        "text": text,
        "response_url": url,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    body, headers = _signed(form, clock())
    response = await daemon.client.post("/webhooks/slack/commands", data=body, headers=headers)
    assert response.status == 200, await response.text()
    hook = url.split("/commands/", 1)[1]

    async def answered() -> bool:
        # The answer is the command's last step: wait for it before asking for quiet.
        await daemon.runtime.worker.run_until_idle(max_seconds=30, retries_within=30)
        return bool(slack.fake.replies.get(hook))

    async with asyncio.timeout(30):
        while not await answered():
            await asyncio.sleep(0.05)  # polling a condition, not asserting an absence
    await settle(daemon)
    [answer] = slack.fake.replies[hook]
    return json.dumps(answer)


def book_by_hand(calendar: FakeGoogleCalendar, start: datetime) -> dict[str, Any]:
    """A person books the meeting themselves on the shared calendar (only the owner asked)."""
    response = calendar.insert(
        calendar.calendar_id,
        {},
        {
            "id": "handbooked01",
            "summary": "PD-1042 post-mortem",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(minutes=45)).isoformat()},
            "attendees": [{"email": ALICE_EMAIL}],
        },
    )
    assert response.status == 200
    return calendar.events[calendar.calendar_id]["handbooked01"]


async def test_a_cancelled_meeting_is_told_once_and_pmhub_waits_for_a_link(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, MovableClock(MONDAY + timedelta(minutes=5))
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P2", created=MONDAY.replace(hour=8), resolved=MONDAY
        )
        await settle(daemon, booked(daemon))
        [event] = fakes.calendar.stored()
        fakes.calendar.cancel_event(event["id"])  # a person cancels it in the calendar
        await advance(daemon, clock, timedelta(hours=1))  # the hourly read-back sees it
        waiting = await postmortem(daemon)
        await advance(daemon, clock, timedelta(hours=1))  # and nothing more is said
        told = posts(slack, SLACK_ALICE, CANCELLED)
        inserts = fakes.calendar.calls[("POST", INSERT_ROUTE)]

        # Alice books one herself and links it.
        mine = book_by_hand(fakes.calendar, ny(2030, 11, 21, 14))
        answer = await slash(daemon, slack_fake, clock, f"meeting <{mine['htmlLink']}> PD-1042")
        linked = await postmortem(daemon)
        await advance(daemon, clock, timedelta(hours=1))
        await no_dead_jobs(daemon)

    [dm] = told
    assert effect_key_of(dm) == f"{CANCELLED}{event['id']}:email:{ALICE_EMAIL}"
    assert "was cancelled" in shown(dm)
    assert "pmhub does not book another one by itself" in shown(dm)
    # The record no longer says booked; nothing was re-booked behind the person's back.
    assert waiting is not None
    assert waiting["meeting"] is None
    assert [c["event_ref"] for c in waiting["cancelled_meetings"]] == [event["id"]]
    assert inserts == 1
    # The linked meeting is the meeting now: recorded, the policy's invitees added.
    assert "is now the post-mortem meeting" in answer
    assert linked is not None
    assert linked["meeting"]["event_ref"] == "handbooked01"
    invited = {
        a["email"]
        for a in fakes.calendar.events[fakes.calendar.calendar_id]["handbooked01"]["attendees"]
    }
    assert {ALICE_EMAIL, BOB_EMAIL, SRE, ENG_MANAGERS, PRODUCT} <= invited
    [owner_dm] = posts(slack, SLACK_ALICE, OWNER_DM)
    assert mine["htmlLink"] in shown(owner_dm)
    assert posts(slack, SLACK_ALICE, CANCELLED) == [dm]  # told once, all along


async def test_a_deleted_meeting_is_booked_again_when_the_policy_says_so(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack], tmp_path: Path
) -> None:
    rebooking(config, tmp_path)
    slack, clock = slack_fake.fake, MovableClock(MONDAY + timedelta(minutes=5))
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P2", created=MONDAY.replace(hour=8), resolved=MONDAY
        )
        await settle(daemon, booked(daemon))
        [first] = fakes.calendar.stored()
        del fakes.calendar.events[fakes.calendar.calendar_id][first["id"]]  # deleted outright
        await advance(daemon, clock, timedelta(hours=1))
        await advance(daemon, clock, timedelta(hours=1))
        body = await postmortem(daemon)
        await no_dead_jobs(daemon)

    [second] = fakes.calendar.stored()
    assert second["id"] != first["id"]
    assert event_times(second)[0] == ny(2030, 11, 20, 10)
    [dm] = posts(slack, SLACK_ALICE, CANCELLED)
    assert "was deleted from the calendar" in shown(dm)
    assert "pmhub books another one" in shown(dm)
    assert body is not None
    assert body["meeting"]["event_ref"] == second["id"]
    assert [c["how"] for c in body["cancelled_meetings"]] == ["deleted"]
    [owner_dm] = posts(slack, SLACK_ALICE, OWNER_DM)
    assert second["htmlLink"] in shown(owner_dm)
