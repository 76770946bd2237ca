"""The sandbox's narrator: one readable line for each thing pmhub did in a vendor's tool.

It reads the fakes (what really reached Slack, the calendar, Jira, the status page
and PagerDuty), not pmhub's own records, so a line is printed only for an effect a
person would see. Edits are reported too (a Slack message updated in place, a
Jira issue moved), each once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.google_calendar.connector import PMHUB_KEY_PROPERTY as KEY_PROPERTY
from hub.demo.world import CALENDAR_NAME, World

Json = dict[str, Any]
GOOGLE_DOC = "application/vnd.google-apps.document"
NEW_YORK = ZoneInfo("America/New_York")


def _short(text: str, width: int = 110) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _local(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(NEW_YORK)


@dataclass
class Narrator:
    """Polls the fakes and prints what is new; `lines` keeps every line printed."""

    world: World
    say: Callable[[str], None]
    deadlines: dict[str, datetime] = field(default_factory=dict)  # by incident id
    lines: list[str] = field(default_factory=list)
    _seen: dict[str, str] = field(default_factory=dict)

    async def run(self, interval: float = 0.1) -> None:
        while True:
            self.look()
            await asyncio.sleep(interval)

    def look(self) -> None:
        self._slack()
        self._calendar()
        self._jira()
        self._statuspage()
        self._pagerduty()
        self._documents()
        self._mail()

    def _emit(self, identity: str, version: str, line: str) -> None:
        if self._seen.get(identity) == version:
            return
        self._seen[identity] = version
        self.lines.append(line)
        self.say(line)

    # -- per vendor ------------------------------------------------------------------

    def _slack(self) -> None:
        slack = self.world.slack
        people = {u["id"]: u["real_name"] for u in slack.users.values()}
        dm_owner = {channel: people.get(user, user) for user, channel in slack.dms.items()}
        for channel in list(slack.messages):
            where = (
                f"Slack DM to {dm_owner[channel]}"
                if channel in dm_owner
                else f"Slack #{slack.channels.get(channel, {}).get('name', channel)}"
            )
            for message in slack.posts(channel):
                edited = message.get("edited", {}).get("ts")
                verb = f"{where} (edited)" if edited else where
                self._emit(
                    f"slack:{channel}:{message['ts']}",
                    str(edited or ""),
                    f"{verb}: {_short(str(message.get('text', '')))}",
                )

    def _calendar(self) -> None:
        for event in self.world.calendar.stored():
            start, end = _local(event["start"]["dateTime"]), _local(event["end"]["dateTime"])
            attendees = len(event.get("attendees", []))
            key = str(event.get("extendedProperties", {}).get("private", {}).get(KEY_PROPERTY, ""))
            deadline = self.deadlines.get(key.removeprefix("pm:").removesuffix(":meeting"))
            due = f", deadline {deadline.astimezone(NEW_YORK):%a %-d %b %H:%M}" if deadline else ""
            verb = "Moved" if event.get("status") == "cancelled" else "Booked"
            self._emit(
                f"calendar:{event['id']}",
                f"{event['start']['dateTime']}|{attendees}|{event.get('status')}",
                f"{verb} '{event.get('summary')}' {start:%a %-d %b %H:%M}-{end:%H:%M}"
                f" America/New_York on {CALENDAR_NAME} with {attendees} invitees{due}",
            )

    def _jira(self) -> None:
        for key, issue in self.world.jira.issues.items():
            fields = issue["fields"]
            # pmhub's own marker label finds an issue again after a lost answer: not news.
            shown = [label for label in fields.get("labels", []) if not label.startswith("pmhub-")]
            labels = ", ".join(shown)
            priority = (fields.get("priority") or {}).get("name", "?")
            assignee = (fields.get("assignee") or {}).get("displayName", "unassigned")
            status = (fields.get("status") or {}).get("name", "?")
            self._emit(
                f"jira:{key}",
                status,
                f"Jira {key} [{labels}] {_short(str(fields.get('summary', '')), 70)}"
                f" — {priority}, {assignee}, {status}",
            )

    def _statuspage(self) -> None:
        page = self.world.statuspage
        for incident in page.incidents.values():
            updates = incident.get("incident_updates", [])
            body = updates[0].get("body", "") if updates else ""
            self._emit(
                f"statuspage:{incident['id']}",
                f"{incident.get('status')}|{len(updates)}",
                f"Status page incident '{incident.get('name')}' {incident.get('status')}:"
                f" {_short(str(body), 80)}",
            )
        for incident_id, postmortem in page.postmortems.items():
            self._emit(
                f"statuspage-pm:{incident_id}",
                str(postmortem.get("published_at")),
                f"Status page post-mortem for {incident_id}"
                f" {'published' if postmortem.get('published_at') else 'drafted'}",
            )

    def _pagerduty(self) -> None:
        pd = self.world.pagerduty
        for incident_id, notes in pd.notes.items():
            number = pd.incidents.get(incident_id, {}).get("incident_number", incident_id)
            for note in notes:
                self._emit(
                    f"pd-note:{note['id']}",
                    "",
                    f"PagerDuty note on PD-{number}: {_short(_untagged(note), 90)}",
                )

    def _documents(self) -> None:
        """The post-mortem documents: Google Docs in the shared folder, pull requests."""
        docs = self.world.docs
        for file in list(docs.files.values()):
            if file["mimeType"] != GOOGLE_DOC or file.get("trashed"):
                continue
            self._emit(
                f"docs:{file['id']}",
                "",
                f"Google Doc '{file['name']}' in the shared folder: {file['webViewLink']}",
            )
        github = self.world.github
        for pull in list(github.pulls):
            self._emit(
                f"github:{pull['number']}",
                "",
                f"GitHub pull request #{pull['number']} '{pull['title']}' on "
                f"{github.owner}/{github.repo}: {pull['html_url']}",
            )

    def _mail(self) -> None:
        for number, mail in enumerate(list(self.world.smtp.received)):
            message = mail.message
            self._emit(
                f"mail:{number}",
                "",
                f"Email '{message['Subject']}' to {', '.join(mail.rcpt_tos)}"
                f"{' over TLS' if mail.over_tls else ''}",
            )


def _untagged(note: Json) -> str:
    """A note's text without pmhub's tag (which finds the note again after a lost answer)."""
    return re.sub(r"\[pmhub [0-9a-f]+\]", "", str(note.get("content", ""))).strip()
