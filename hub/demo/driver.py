"""What the sandbox's people and vendors do to pmhub: signed webhooks, Slack, the admin API.

Everything goes through the daemon's real HTTP endpoints, signed the way each vendor
signs, so the demo exercises exactly the path production traffic takes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import aiohttp

from hub.demo.world import World
from hub.intake.signing import signed_headers
from hub.runtime import utc_now

Json = dict[str, Any]


class DemoError(RuntimeError):
    """The story could not go on: what was expected, and what happened instead."""


class DemoClock:
    """The daemon's clock in the sandbox: real time, shifted, and moved on by the story.

    It starts ahead of real time (a few store writes read the system clock, and those
    must already be due by this clock) and jumps when the story lets days pass.
    """

    def __init__(self, starting_at: datetime) -> None:
        self._offset = starting_at - utc_now()

    def __call__(self) -> datetime:
        return utc_now() + self._offset

    def advance_to(self, moment: datetime) -> None:
        self._offset = max(self._offset, moment - utc_now())


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Driver:
    """Sends what a vendor or a person would, and waits for pmhub to act on it."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, world: World, clock: DemoClock
    ) -> None:
        self.session, self.base_url, self.world, self.clock = session, base_url, world, clock
        # Each post-mortem's meeting deadline, as the plan last said (for the narrator).
        self.deadlines: dict[str, datetime] = {}

    # -- webhooks -----------------------------------------------------------------

    async def deliver(self, source: str, body: bytes, *, delivery_id: str | None = None) -> str:
        """POST a signed delivery and return its id; `delivery_id` repeats an earlier one."""
        secrets = self.world.secrets
        secret = {
            "pagerduty": secrets.pagerduty,
            "incidentio": secrets.incidentio,
            "jira": secrets.jira,
        }.get(source, secrets.slack)
        # Signed at the daemon's time: it checks a signature's age by its own clock.
        delivery_id = delivery_id or str(uuid.uuid4())
        headers = signed_headers(source, secret, body, self.clock(), delivery_id=delivery_id)
        url = f"{self.base_url}/webhooks/{source}"
        async with self.session.post(url, data=body, headers=headers) as response:
            if response.status >= HTTPStatus.MULTIPLE_CHOICES:
                raise DemoError(f"{source} webhook answered {response.status}")
        return delivery_id

    async def pagerduty(self, event_type: str, incident: Json, occurred_at: datetime) -> None:
        body = pagerduty_event(event_type, incident, occurred_at)
        await self.deliver("pagerduty", json.dumps(body).encode())

    async def jira_issue_updated(self, key: str) -> None:
        issue = self.world.jira.issue(key)
        body = {
            "timestamp": int(self.clock().timestamp() * 1000),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "issue": issue,
        }
        await self.deliver("jira", json.dumps(body).encode())

    # -- Slack --------------------------------------------------------------------

    async def slash(self, user_id: str, text: str, channel: str = "C0SOMEWHERE") -> str:
        """`/postmortem text` typed by `user_id`; returns pmhub's answer (from response_url)."""
        hook = self.world.slack.response_url(self.world.urls["slack"])
        form = {
            "team_id": "T0PMHUB001",
            "channel_id": channel,
            "user_id": user_id,
            "command": "/postmortem",
            "text": text,
            "response_url": hook,
            "trigger_id": f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().int % 10**11}.demo",
        }
        await self.deliver("slack/commands", urlencode(form).encode())
        return await self._reply(hook)

    async def press(self, user_id: str, action_id: str, value: str) -> str:
        """A button on one of pmhub's messages, pressed by `user_id`."""
        hook = self.world.slack.response_url(self.world.urls["slack"])
        payload = {
            "type": "block_actions",
            "user": {"id": user_id},
            "channel": {"id": self.world.slack.dms.get(user_id, "D0")},
            "response_url": hook,
            "trigger_id": f"{uuid.uuid4().int % 10**11}.demo",
            "actions": [{"action_id": action_id, "value": value, "type": "button"}],
        }
        await self.deliver(
            "slack/interactions", urlencode({"payload": json.dumps(payload)}).encode()
        )
        return await self._reply(hook)

    async def press_on_dm(self, user_id: str, marker: str, action_id: str) -> str:
        """`user_id` presses a button on the DM pmhub posted under an effect key holding
        `marker`; pmhub opens a form (a modal): its view id, once it is open."""
        slack = self.world.slack
        found: list[Json] = []

        async def posted() -> bool:
            channel = slack.dms.get(user_id)
            found[:] = [m for m in (slack.posts(channel) if channel else []) if marker in _key(m)]
            return bool(found)

        await self.until(posted, f"pmhub's message {marker!r} to {user_id}")
        # The press as Slack sends it, with a trigger the Slack fake issued (views.open
        # honours it for 3 seconds).
        press = slack.press_button(
            self.world.urls["slack"], user_id, slack.dms[user_id], found[-1]["ts"], action_id
        )
        before = set(slack.modals.views)
        await self.deliver("slack/interactions", urlencode({"payload": json.dumps(press)}).encode())

        async def opened() -> bool:
            return bool(set(slack.modals.views) - before)

        await self.until(opened, f"the form {action_id!r} opens")
        return next(iter(set(slack.modals.views) - before))

    async def submit_form(self, view_id: str, user_id: str, inputs: Json) -> None:
        submitted = self.world.slack.submit_view(view_id, user_id, inputs)
        await self.deliver(
            "slack/interactions", urlencode({"payload": json.dumps(submitted)}).encode()
        )

    async def _reply(self, hook: str) -> str:
        hook_id = hook.split("/commands/", 1)[1]
        replies = self.world.slack.replies

        async def answered() -> bool:
            return bool(replies.get(hook_id))

        await self.until(answered, "an answer to the Slack command")
        return str(replies[hook_id][0].get("text", ""))

    # -- the admin API --------------------------------------------------------------

    async def admin(self, method: str, path: str, body: Json | None = None) -> tuple[int, Json]:
        headers = {
            "Authorization": f"Bearer {self.world.secrets.admin_token}",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        url = f"{self.base_url}/api/v1{path}"
        async with self.session.request(method, url, json=body, headers=headers) as response:
            answer: Json = await response.json()
            return response.status, answer

    async def report(self) -> str:
        """The process in numbers, as `pmhub report` prints it (the admin API's text)."""
        headers = {"Authorization": f"Bearer {self.world.secrets.admin_token}"}
        url = f"{self.base_url}/api/v1/report"
        async with self.session.get(url, params={"format": "text"}, headers=headers) as response:
            if response.status != HTTPStatus.OK:
                raise DemoError(f"the report answered {response.status}")
            return await response.text()

    async def postmortem(self, incident_id: str) -> Json | None:
        status, body = await self.admin("GET", f"/postmortems/pm:{incident_id}")
        if status != HTTPStatus.OK:
            return None
        meeting = (body.get("plan") or {}).get("meeting")
        if meeting and meeting.get("deadline"):
            self.deadlines[incident_id] = datetime.fromisoformat(meeting["deadline"])
        return body

    async def until_postmortem(
        self, incident_id: str, check: Callable[[Json], bool], what: str, seconds: float = 90
    ) -> Json:
        found: list[Json] = []

        async def holds() -> bool:
            body = await self.postmortem(incident_id)
            if body is not None and check(body):
                found.append(body)
                return True
            return False

        await self.until(holds, what, seconds)
        return found[0]

    async def until_idle(self) -> None:
        """Until no job is running (jobs due later may wait)."""

        async def idle() -> bool:
            status, body = await self.admin("GET", "/jobs?state=running&limit=1")
            return status == HTTPStatus.OK and not body["jobs"]

        await self.until(idle, "the running jobs to finish")

    async def until(
        self, check: Callable[[], Awaitable[bool]], what: str, seconds: float = 90
    ) -> None:
        try:
            async with asyncio.timeout(seconds):
                while not await check():  # noqa: ASYNC110 - polling HTTP answers and fakes
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise DemoError(f"gave up after {seconds:.0f} s waiting for {what}") from None


def _key(message: Json) -> str:
    """The effect key pmhub stamped on a message (Slack message metadata)."""
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    return str(payload.get("effect_key") or "")


def pagerduty_event(event_type: str, incident: Json, occurred_at: datetime) -> Json:
    """A V3 webhook body for `incident` as the PagerDuty fake holds it (ids, not emails)."""
    return {
        "event": {
            "id": f"01{uuid.uuid4().hex[:24].upper()}",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": z(occurred_at),
            "agent": None,
            "client": None,
            "data": {
                "id": incident["id"],
                "type": "incident",
                "self": incident["self"],
                "html_url": incident["html_url"],
                "number": incident["incident_number"],
                "status": incident["status"],
                "title": incident["title"],
                "created_at": incident["created_at"],
                "priority": incident.get("priority"),
                "urgency": incident["urgency"],
                "service": incident["service"],
                "escalation_policy": incident["escalation_policy"],
            },
        }
    }
