"""The sandbox's story: a SEV-1 from PagerDuty and a SEV-2 from incident.io, start to close.

Each step is what a vendor or a person would really do (a signed webhook, a Slack
command or button, an admin API call), and the story then waits for what pmhub
must do in answer before it goes on. Nothing here performs an effect: the daemon
does, and the narrator reports what reached each fake.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hub.demo.driver import DemoError, Driver, Json, pagerduty_event, z
from hub.demo.world import (
    ALICE,
    BOB,
    CAROL,
    ESCALATION_POLICY,
    SEARCH_CHANNEL,
    World,
)

NEW_YORK = ZoneInfo("America/New_York")
Agent = tuple[Literal["user", "service"], str]
HTTP_OK = 200
PD_INCIDENT, PD_NUMBER = "Q1CHKOUT5XX", 1042
PD_ID = f"pagerduty:{PD_INCIDENT}"
IO_INCIDENT, IO_REFERENCE = "01JDEMOSEARCH0000000000045", "INC-45"
IO_ID = f"incidentio:{IO_INCIDENT}"
OUTAGE_DRAFT = (
    "Checkout outage: between 08:55 and 09:40 ET some card payments failed. "
    "A bad configuration push caused it; we rolled it back."
)
EXTERNAL_MESSAGE = (
    "Between 08:55 and 09:40 ET on {day} some customers could not complete card "
    "payments at checkout. A faulty configuration change caused the errors; we rolled "
    "it back and are adding safeguards so that a change like it is caught before release."
)


def story_start(real_now: datetime) -> datetime:
    """When the story's morning is: 10:00 in New York on the first Tuesday a day ahead.

    A fixed weekday keeps the deadlines readable (3 calendar days, 5 business days)
    and the meeting search inside a working week; a day ahead keeps the shifted
    clock ahead of the system clock, as the daemon's store needs.
    """
    day = (real_now.astimezone(NEW_YORK) + timedelta(days=1)).date()
    while day.weekday() != 1:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), NEW_YORK)


@dataclass
class Story:
    driver: Driver
    say: Callable[[str], None]

    @property
    def world(self) -> World:
        return self.driver.world

    async def play(self) -> None:
        start = self.driver.clock()
        self.block_tuesday(start)
        await self.pagerduty_sev1(start)
        await self.incidentio_sev2(start)
        await self.before_the_meetings()
        await self.after_the_meetings()

    def block_tuesday(self, start: datetime) -> None:
        """The responders spend the rest of the incident day on clean-up: nobody is free."""
        day_end = start.astimezone(NEW_YORK).replace(hour=17, minute=0)
        for person in (ALICE, BOB, CAROL):
            self.world.calendar.busy[person.email].append((start, day_end))

    # -- the SEV-1, from PagerDuty ------------------------------------------------------

    async def pagerduty_sev1(self, start: datetime) -> None:
        pd = self.world.pagerduty
        carol: Agent = ("user", CAROL.pagerduty_id)
        alice: Agent = ("user", ALICE.pagerduty_id)
        created = start - timedelta(hours=1, minutes=5)
        acked, resolved = created + timedelta(minutes=4), created + timedelta(minutes=45)

        def seed(status: Literal["triggered", "acknowledged", "resolved"], at: datetime) -> Json:
            incident = pd.add_incident(
                PD_INCIDENT,
                number=PD_NUMBER,
                title="Checkout API 5xx",
                status=status,
                created_at=z(created),
                updated_at=z(at),
                resolved_at=z(resolved) if status == "resolved" else None,
                priority="P1",
                service=("PCHKAPI", "Checkout API"),
                escalation_policy=(ESCALATION_POLICY, "Checkout on-call"),
                assignees=[(alice[1], z(created))],
                acknowledgers=[(alice[1], z(acked))] if status != "triggered" else [],
            )
            if status != "triggered":
                incident["incidents_responders"] = [_responder(BOB.pagerduty_id, BOB.name, acked)]
            return incident

        self.say(f"▶ PagerDuty: PD-{PD_NUMBER} 'Checkout API 5xx' (P1), triggered by Carol Diaz")
        incident = seed("triggered", created)
        pd.add_log_entry(PD_INCIDENT, "trigger_log_entry", created_at=z(created), agent=carol)
        await self.driver.pagerduty("incident.triggered", incident, created)
        self.say("▶ PagerDuty: Alice Chen acknowledges; Bob Okafor joins as a responder")
        incident = seed("acknowledged", acked)
        pd.add_log_entry(PD_INCIDENT, "acknowledge_log_entry", created_at=z(acked), agent=alice)
        await self.driver.pagerduty("incident.acknowledged", incident, acked)
        self.say(f"▶ PagerDuty: PD-{PD_NUMBER} resolved")
        incident = seed("resolved", resolved)
        pd.add_log_entry(PD_INCIDENT, "resolve_log_entry", created_at=z(resolved), agent=alice)
        await self.driver.pagerduty("incident.resolved", incident, resolved)
        await self.driver.until_postmortem(
            PD_ID, lambda pm: pm["meeting"] is not None, "the SEV-1's meeting to be booked"
        )

    # -- the SEV-2, from incident.io (out of order, and one delivery twice) ----------------

    async def incidentio_sev2(self, start: datetime) -> None:
        io = self.world.incidentio
        created, resolved = start - timedelta(hours=18, minutes=50), start - timedelta(minutes=40)
        incident = io.add_incident(
            IO_INCIDENT,
            reference=IO_REFERENCE,
            name="Search results delayed",
            summary="Search results lagged by up to 20 minutes after an index rebuild stalled.",
            status=("Investigating", "live"),
            severity=("Major", 2),
            incident_type="Production Outage",
            creator=CAROL.incidentio_id,
            roles={"Incident Lead": BOB.incidentio_id},
            slack_channel=(SEARCH_CHANNEL, "inc-45-search-results-delayed"),
            created_at=z(created),
        )
        created_event = _incidentio_event("public_incident.incident_created_v2", incident)
        incident.update(
            incident_status={
                **incident["incident_status"],
                "name": "Monitoring",
                "category": "learning",
            },
            updated_at=z(resolved),
            incident_timestamp_values=[_stamp("Resolved at", resolved)],
        )
        updated_event = _incidentio_event("public_incident.incident_updated_v2", incident)
        self.say(
            f"▶ incident.io: {IO_REFERENCE} 'Search results delayed' (Major), led by Bob Okafor;"
            " the 'resolved' update arrives before 'created', and 'created' twice"
        )
        await self.driver.deliver("incidentio", updated_event)
        first = await self.driver.deliver("incidentio", created_event)
        await self.driver.deliver("incidentio", created_event, delivery_id=first)
        await self.driver.until_postmortem(
            IO_ID, lambda pm: pm["meeting"] is not None, "the SEV-2's meeting to be booked"
        )

    # -- before the meetings -----------------------------------------------------------

    async def before_the_meetings(self) -> None:
        d, ref = self.driver, f"PD-{PD_NUMBER}"
        self.say("▶ Slack: Alice presses Accept in her DM")
        self.answer(await d.press(ALICE.slack_id, "pm_accept", PD_ID))
        self.say(f"▶ Slack: Alice types /postmortem followup P1 @bob … {ref}")
        self.answer(
            await d.slash(
                ALICE.slack_id,
                f"followup P1 <@{BOB.slack_id}|bob> Canary stage for checkout config pushes {ref}",
            )
        )
        self.say("▶ admin API: a P0 follow-up for Alice")
        status, _ = await d.admin(
            "POST",
            f"/postmortems/pm:{PD_ID}/follow-ups",
            {
                "summary": "Page on checkout 5xx above 1% for 5 minutes",
                "priority": "P0",
                "owner_email": ALICE.email,
            },
        )
        self.expect(status in (200, 201, 202), f"the admin API refused the follow-up ({status})")
        self.say(f"▶ Slack: Alice types /postmortem followup P3 Tidy the checkout dashboards {ref}")
        self.answer(
            await d.slash(ALICE.slack_id, f"followup P3 Tidy the checkout dashboards {ref}")
        )
        self.say("▶ Slack: Alice drafts the external message, with the word 'outage'")
        self.answer(await d.slash(ALICE.slack_id, f"message {OUTAGE_DRAFT} {ref}"))
        self.say("▶ admin API: the corrected external message")
        day = d.clock().astimezone(NEW_YORK).strftime("%B %-d")
        status, body = await d.admin(
            "PUT",
            f"/postmortems/pm:{PD_ID}/external-message",
            {"body": EXTERNAL_MESSAGE.format(day=day), "full_outage": False},
        )
        self.expect(status == HTTP_OK, f"the external message was refused: {body}")
        await self.incidentio_follow_up()
        for user, incident_ref in ((ALICE, ref), (BOB, IO_REFERENCE)):
            self.say(f"▶ Slack: {user.name.split()[0]} types /postmortem review {incident_ref}")
            self.answer(await d.slash(user.slack_id, f"review {incident_ref}"))
        await d.until_postmortem(PD_ID, _filed(2), "the SEV-1's follow-ups to reach Jira")

    async def incidentio_follow_up(self) -> None:
        self.say(f"▶ incident.io: Bob adds a follow-up to {IO_REFERENCE}")
        self.say("▶ Slack: Bob presses Accept in his DM")
        self.answer(await self.driver.press(BOB.slack_id, "pm_accept", IO_ID))
        follow_up = {
            "id": "01JDEMOFOLLOWUP00000000001",
            "incident_id": IO_INCIDENT,
            "title": "Alert when the search index rebuild stalls for 10 minutes",
            "description": "The rebuild stalled silently for an hour before anyone noticed.",
            "status": "outstanding",
            "priority": {"id": "01JDEMOPRIORITY0000000001", "name": "High", "rank": 20},
            "assignee": self.world.incidentio.users[BOB.incidentio_id],
            "created_at": z(self.driver.clock()),
            "updated_at": z(self.driver.clock()),
        }
        event = {
            "event_type": "public_incident.follow_up_created_v2",
            "public_incident.follow_up_created_v2": follow_up,
        }
        await self.driver.deliver("incidentio", json.dumps(event).encode())
        await self.driver.until_postmortem(IO_ID, _filed(1), "the SEV-2's follow-up to reach Jira")

    # -- after the meetings ------------------------------------------------------------

    async def after_the_meetings(self) -> None:
        d, ref = self.driver, f"PD-{PD_NUMBER}"
        meetings = [await d.postmortem(PD_ID), await d.postmortem(IO_ID)]
        last_end = max(datetime.fromisoformat(pm["meeting"]["end"]) for pm in meetings if pm)
        held = last_end + timedelta(minutes=10)
        local = held.astimezone(NEW_YORK)
        self.say(f"⏩ time passes: both meetings are held (now {local:%a %H:%M} in New York)")
        await d.until_idle()  # a running job's lease must not expire in the jump
        d.clock.advance_to(held)
        self.say(f"▶ Slack: Alice types /postmortem reviewed {ref}")
        self.answer(await d.slash(ALICE.slack_id, f"reviewed {ref}"))
        await d.until_postmortem(PD_ID, _published, "the external message to reach the status page")
        key = self.filed_keys((await d.postmortem(PD_ID)) or {})[0]
        self.say(f"▶ Jira: Bob moves {key} to Done (a signed issue_updated webhook follows)")
        self.world.jira.issue(key)["fields"]["status"] = _done_status()
        await d.jira_issue_updated(key)
        await d.until_postmortem(PD_ID, _done(key), f"{key} to be marked done in pmhub")
        # The flagged P3 is still open and unfiled: closing over it is a decision, on record.
        self.say("▶ Slack: Alice types /postmortem close --override (the P3 goes to the backlog)")
        self.answer(
            await d.slash(
                ALICE.slack_id, f"close --override the P3 tidy-up goes to the team backlog {ref}"
            )
        )
        self.say(f"▶ Slack: Bob types /postmortem reviewed {IO_REFERENCE}, then close")
        self.answer(await d.slash(BOB.slack_id, f"reviewed {IO_REFERENCE}"))
        self.answer(await d.slash(BOB.slack_id, f"close {IO_REFERENCE}"))
        for incident_id in (PD_ID, IO_ID):
            await d.until_postmortem(
                incident_id, lambda pm: pm["status"] == "closed", f"{incident_id} to close"
            )

    # -- helpers -------------------------------------------------------------------

    def answer(self, text: str) -> None:
        first = text.strip().splitlines()[0] if text.strip() else "(empty)"
        self.say(f"   ↳ pmhub answers: {first}")

    @staticmethod
    def expect(condition: bool, problem: str) -> None:
        if not condition:
            raise DemoError(problem)

    @staticmethod
    def filed_keys(pm: Json) -> list[str]:
        return [str(f["tracker_key"]) for f in pm.get("follow_ups", []) if f.get("tracker_key")]


def _filed(count: int) -> Callable[[Json], bool]:
    return lambda pm: len(Story.filed_keys(pm)) >= count


def _published(pm: Json) -> bool:
    message = pm.get("external_message") or {}
    return bool(message.get("published_ref"))


def _done(key: str) -> Callable[[Json], bool]:
    def check(pm: Json) -> bool:
        return any(
            f.get("tracker_key") == key and f.get("state") == "done" for f in pm["follow_ups"]
        )

    return check


def _done_status() -> Json:
    return {"name": "Done", "id": "10002", "statusCategory": {"key": "done", "name": "Done"}}


def _responder(user_id: str, name: str, at: datetime) -> Json:
    return {
        "state": "joined",
        "updated_at": z(at),
        "user": {"id": user_id, "type": "user_reference", "summary": name},
    }


def _stamp(name: str, at: datetime) -> Json:
    return {
        "incident_timestamp": {"id": "01JDEMOSTAMP00000000000001", "name": name, "rank": 3},
        "value": {"value": z(at)},
    }


def _incidentio_event(event_type: str, incident: Json) -> bytes:
    snapshot: dict[str, Any] = json.loads(json.dumps(incident))
    return json.dumps({"event_type": event_type, event_type: snapshot}).encode()


def your_own_event(world: World, now: datetime, path: Path) -> None:
    """A resolved P2 the PagerDuty fake knows, written as a webhook body for the reader to send."""
    created = now - timedelta(hours=2)
    resolved = created + timedelta(minutes=50)
    incident = world.pagerduty.add_incident(
        "Q1YOUREVENT",
        number=1044,
        title="Payments webhook backlog",
        status="resolved",
        created_at=z(created),
        updated_at=z(resolved),
        resolved_at=z(resolved),
        priority="P2",
        service=("PPAYHOOK", "Payments webhooks"),
        escalation_policy=(ESCALATION_POLICY, "Payments on-call"),
        assignees=[(BOB.pagerduty_id, z(created))],
        acknowledgers=[(BOB.pagerduty_id, z(created + timedelta(minutes=3)))],
    )
    event = pagerduty_event("incident.resolved", incident, resolved)
    path.write_text(json.dumps(event, indent=2) + "\n")
