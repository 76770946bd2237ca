"""The sandbox's story: a SEV-1 from PagerDuty and a SEV-2 from incident.io, start to close.

Each step is what a vendor or a person would really do (a signed webhook, a Slack
command or button, an admin API call), and the story then waits for what pmhub
must do in answer before it goes on. Nothing here performs an effect: the daemon
does, and the narrator reports what reached each fake.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
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
    WAR_ROOM,
    Character,
    World,
    outcome_shared,
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
                # Alice asked Bob, in PagerDuty, to join as the Scribe; he did.
                incident["incidents_responders"] = [_responder(BOB, ALICE, acked)]
            return incident

        self.say(f"▶ PagerDuty: PD-{PD_NUMBER} 'Checkout API 5xx' (P1), triggered by Carol Diaz")
        self.war_room(created, acked, resolved)
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

    def war_room(self, created: datetime, acked: datetime, resolved: datetime) -> None:
        """#major-incidents during PD-1042: what the document's timeline and TODOs come from."""
        slack = self.world.slack
        self.say(
            "▶ Slack #major-incidents: Alice and Bob work the incident (pins, a TODO, the call)"
        )
        slack.join(WAR_ROOM, ALICE.slack_id, at=minutes(created, 2))
        slack.add_message(
            WAR_ROOM, "I'm the IC for this one", user=ALICE.slack_id, at=minutes(created, 3)
        )
        slack.join(WAR_ROOM, BOB.slack_id, at=minutes(acked, 2))
        slack.join(WAR_ROOM, CAROL.slack_id, at=minutes(acked, 3))  # watches, never acts
        slack.add_message(
            WAR_ROOM, "5xx on every card payment, looking", user=BOB.slack_id, at=minutes(acked, 5)
        )
        slack.add_message(
            WAR_ROOM,
            "Root cause: the checkout config push at 08:50",
            user=BOB.slack_id,
            reactions={"pushpin": [ALICE.slack_id]},
            at=minutes(acked, 20),
        )
        rollback = slack.add_message(
            WAR_ROOM,
            "Rolled the config back; errors dropping",
            user=ALICE.slack_id,
            at=minutes(acked, 30),
        )
        slack.pin(WAR_ROOM, rollback["ts"], by=ALICE.slack_id)
        slack.add_message(
            WAR_ROOM,
            "TODO: alert on checkout config drift",
            user=BOB.slack_id,
            at=minutes(acked, 35),
        )
        slack.add_message(
            WAR_ROOM,
            "Call recording: <https://acme.zoom.us/rec/share/PD1042checkout|Zoom>",
            user=ALICE.slack_id,
            at=minutes(resolved, -1),
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
            custom_fields={"Team": "Search"},  # pmhub.yaml's `teams:` routes it to Search
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
        slack = self.world.slack
        slack.add_message(
            SEARCH_CHANNEL,
            "Search is ~20 minutes behind; the index rebuild looks stuck",
            user=BOB.slack_id,
            at=minutes(created, 25),
        )
        slack.add_message(
            SEARCH_CHANNEL,
            "Restarted the rebuild on a fresh node",
            user=BOB.slack_id,
            at=minutes(created, 900),
        )
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
        await self.todo_from_the_channel()
        await self.incidentio_follow_up()
        await self.review_the_google_doc()
        await self.review_the_pull_request()
        await d.until_postmortem(PD_ID, _filed(3), "the SEV-1's follow-ups to reach Jira")

    async def todo_from_the_channel(self) -> None:
        """The TODO pmhub found in #major-incidents, offered in Alice's DM: she adds it."""
        d = self.driver
        self.say("▶ Slack: Alice presses Add as follow-up on the TODO found in #major-incidents")
        view = await d.press_on_dm(ALICE.slack_id, ":todos:offer:", "pm_add_todo")
        self.say("▶ Slack: in the form, she keeps its words and picks P1")
        priority = {"text": {"type": "plain_text", "text": "P1"}, "value": "P1"}
        await d.submit_form(
            view,
            ALICE.slack_id,
            {"summary": "Alert on checkout config drift", "priority": priority},
        )

    async def review_the_google_doc(self) -> None:
        """In Review reads the document back: first refused, naming what is missing."""
        d, ref = self.driver, f"PD-{PD_NUMBER}"
        self.say(f"▶ Slack: Alice types /postmortem review {ref}")
        self.answer(await d.slash(ALICE.slack_id, f"review {ref}"))
        pm = await d.until_postmortem(PD_ID, lambda pm: bool(pm.get("document")), "the document")
        file_id = pm["document"]["id"]
        self.say("▶ Google Docs: Alice writes the Summary, the Root cause and the Key learnings")
        docs = self.world.docs
        for heading, words in SEV1_WRITING.items():
            docs.edit_as(ALICE.email, file_id, heading, words)
        self.say(f"▶ Slack: Alice types /postmortem review {ref} again")
        self.answer(await d.slash(ALICE.slack_id, f"review {ref}"))

    async def review_the_pull_request(self) -> None:
        d = self.driver
        self.say(f"▶ Slack: Bob types /postmortem review {IO_REFERENCE}")
        self.answer(await d.slash(BOB.slack_id, f"review {IO_REFERENCE}"))
        pm = await d.until_postmortem(IO_ID, lambda pm: bool(pm.get("document")), "the PR")
        branch, _, path = str(pm["document"]["id"]).partition(":")
        github = self.world.github
        text = github.file(branch, path) or ""
        self.say("▶ GitHub: Bob writes the Summary and the DERP in the pull request's file")
        github.commit_as("bob", branch, path, _written(text, SEV2_WRITING))
        self.say(f"▶ Slack: Bob types /postmortem review {IO_REFERENCE} again")
        self.answer(await d.slash(BOB.slack_id, f"review {IO_REFERENCE}"))

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

        async def emailed() -> bool:
            return bool(self.world.smtp.received)

        await d.until(emailed, "the results email")
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
        # Closed is the post-mortem's state; the outcome message is an effect that follows
        # it. On a busy machine the story must not end (and the checks run) in between.
        for shared_ref in (ref, IO_REFERENCE):
            await d.until(_shared(d.world, shared_ref), f"{shared_ref}'s outcome to be shared")

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


SEV1_WRITING = {
    "Summary": "A configuration push broke card payments at checkout for 45 minutes.",
    "Root cause": "The push skipped the canary stage; a missing key failed every payment.",
    "Key learnings": "Config pushes need the same canary as code.",
}
SEV2_WRITING = {
    "Summary": "Search results lagged by up to 20 minutes after an index rebuild stalled.",
    "Detection": "A customer noticed before our alerts did.",
    "Escalation": "Bob was paged 40 minutes in; fine once paged.",
    "Remediation": "The rebuild was restarted on a fresh node.",
    "Prevention": "Alert when a rebuild makes no progress for 10 minutes.",
}


def _shared(world: World, ref: str) -> Callable[[], Awaitable[bool]]:
    async def shared() -> bool:
        return outcome_shared(world, ref)

    return shared


def minutes(moment: datetime, count: int) -> float:
    """`count` minutes after `moment`, as a Unix time (a Slack message's)."""
    return (moment + timedelta(minutes=count)).timestamp()


def _written(text: str, sections: dict[str, str]) -> str:
    """The Markdown with words under each named heading (as a person types them)."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.append(line)
        heading = line.lstrip("#").strip()
        if line.startswith("#") and heading in sections:
            lines += ["", sections[heading]]
    return "\n".join(lines) + "\n"


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


def _responder(who: Character, asked_by: Character, at: datetime) -> Json:
    """A responder request in PagerDuty's shape (IncidentsRespondersReference), answered."""
    return {
        "state": "joined",
        "updated_at": z(at + timedelta(minutes=3)),
        "user": {"id": who.pagerduty_id, "type": "user_reference", "summary": who.name},
        "requester": {
            "id": asked_by.pagerduty_id,
            "type": "user_reference",
            "summary": asked_by.name,
        },
        "requested_at": z(at + timedelta(minutes=1)),
        "message": "Please join as Scribe",
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
