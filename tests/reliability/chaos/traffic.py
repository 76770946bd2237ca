"""What reaches the replicas: PagerDuty's deliveries, and people acting through the admin API.

Deliveries are signed V3 webhooks, sent the way PagerDuty sends them: each one is
retried (same body, same `X-Webhook-Id`) until a replica answers 2xx, so a delivery
sent to a replica that is dead or answers 503 comes again. On top of those retries the
stream repeats some deliveries on purpose and shuffles their order across incidents.

People act through the admin API with an `Idempotency-Key`: a request whose answer
was lost (the replica died) is sent again with the same key to another replica, as a
careful client does. A change counts as acknowledged once a 2xx answer came back;
it is checked at the end.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import aiohttp

from hub.demo.driver import pagerduty_event, z
from hub.demo.world import ALICE, BOB, CAROL, ESCALATION_POLICY, World
from hub.intake.signing import signed_headers
from hub.runtime import utc_now
from tests.reliability.chaos.fleet import Fleet

Json = dict[str, Any]
INCIDENT_PREFIX = "QCHAOS"
RETRY_PAUSE_SECONDS = 0.3
PEOPLE_AT_ONCE = 8
GIVE_UP_SECONDS = 600.0  # PagerDuty itself retries for a while, then drops the delivery


def incident_id(n: int) -> str:
    return f"{INCIDENT_PREFIX}{n:05d}"


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    incident: str
    body: bytes


@dataclass
class Change:
    """One person's change through the admin API, and what came of it."""

    incident: str
    action: str  # owner, follow_up, transition
    method: str
    path: str
    body: Json
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: int | None = None
    attempts: int = 0

    @property
    def acknowledged(self) -> bool:
        return (
            self.status is not None and HTTPStatus.OK <= self.status < HTTPStatus.MULTIPLE_CHOICES
        )


@dataclass
class Traffic:
    world: World
    fleet: Fleet
    rng: random.Random
    incidents: list[str] = field(default_factory=list)
    sent: int = 0
    acknowledged: set[str] = field(default_factory=set)
    given_up: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)  # webhook answers: "202", "503", "error"
    changes: list[Change] = field(default_factory=list)

    def seed_incidents(self, count: int) -> list[Delivery]:
        """Resolved incidents in the PagerDuty fake, and their three deliveries each,
        shuffled, with about a third sent a second time later on."""
        now = utc_now()
        deliveries: list[Delivery] = []
        for n in range(count):
            created = now - timedelta(hours=2, minutes=n % 50)
            acked, resolved = created + timedelta(minutes=4), created + timedelta(minutes=40)
            pd_id = incident_id(n)
            incident = self.world.pagerduty.add_incident(
                pd_id,
                number=5000 + n,
                title=f"Chaos incident {n}: checkout 5xx",
                status="resolved",
                created_at=z(created),
                updated_at=z(resolved),
                resolved_at=z(resolved),
                priority="P1",
                service=("PCHKAPI", "Checkout API"),
                escalation_policy=(ESCALATION_POLICY, "Checkout on-call"),
                assignees=[(ALICE.pagerduty_id, z(created))],
                acknowledgers=[(ALICE.pagerduty_id, z(acked))],
            )
            self.incidents.append(pd_id)
            for event_type, at in (
                ("incident.triggered", created),
                ("incident.acknowledged", acked),
                ("incident.resolved", resolved),
            ):
                deliveries.append(_delivery(pd_id, event_type, incident, at))
        self.rng.shuffle(deliveries)
        repeats = [d for d in deliveries if self.rng.random() < 1 / 3]
        for repeat in repeats:  # the same delivery again, somewhere later in the stream
            deliveries.insert(self.rng.randrange(len(deliveries) + 1), repeat)
        return deliveries

    async def send_all(
        self, session: aiohttp.ClientSession, deliveries: list[Delivery], rate: float
    ) -> None:
        """Start a delivery every 1/`rate` seconds (a stream that outlasts several kills);
        each then retries on its own until answered."""
        sending = []
        for delivery in deliveries:
            sending.append(asyncio.create_task(self.deliver(session, delivery)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*sending)

    async def deliver(self, session: aiohttp.ClientSession, delivery: Delivery) -> None:
        """Send until a replica answers 2xx (PagerDuty's retries), or give up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GIVE_UP_SECONDS
        secret = self.world.secrets.pagerduty
        while loop.time() < deadline:
            replica = self.fleet.pick()
            headers = signed_headers(
                "pagerduty", secret, delivery.body, utc_now(), delivery_id=delivery.delivery_id
            )
            self.sent += 1
            try:
                async with session.post(
                    f"{replica.url}/webhooks/pagerduty",
                    data=delivery.body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as response:
                    self.answers[str(response.status)] += 1
                    if response.status < HTTPStatus.MULTIPLE_CHOICES:
                        self.acknowledged.add(delivery.delivery_id)
                        return
            except (aiohttp.ClientError, TimeoutError):
                self.answers["no answer"] += 1  # the replica died under it, or was not there
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        self.given_up.add(delivery.delivery_id)

    async def people(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """For each incident, once its post-mortem exists: a new owner, a follow-up, and
        the move to In Review (with override: the guards are not what is tested). A few
        people act at once, each on their own incident."""
        at_once = asyncio.Semaphore(PEOPLE_AT_ONCE)

        async def person(pd_id: str) -> None:
            while not stop.is_set():
                async with at_once:
                    if await self._postmortem(session, pd_id) is not None:
                        await self._act(session, pd_id)
                        return
                await asyncio.sleep(self.rng.uniform(0.5, 1.5))

        await asyncio.gather(*(person(pd_id) for pd_id in self.incidents))

    async def _act(self, session: aiohttp.ClientSession, pd_id: str) -> None:
        base = f"/postmortems/pm:pagerduty:{pd_id}"
        for change in (
            Change(pd_id, "owner", "POST", f"{base}/owner", {"email": CAROL.email}),
            Change(
                pd_id,
                "follow_up",
                "POST",
                f"{base}/follow-ups",
                {
                    "summary": f"Guard checkout config ({pd_id})",
                    "priority": "P1",
                    "owner_email": BOB.email,
                },
            ),
            Change(
                pd_id,
                "transition",
                "POST",
                f"{base}/transitions",
                {"to": "in_review", "override": True, "reason": "chaos run"},
            ),
        ):
            self.changes.append(change)
            await self._send_change(session, change)

    async def _send_change(self, session: aiohttp.ClientSession, change: Change) -> None:
        headers = {
            "Authorization": f"Bearer {self.world.secrets.admin_token}",
            "Idempotency-Key": change.key,
        }
        for _ in range(100):
            change.attempts += 1
            url = f"{self.fleet.pick().url}/api/v1{change.path}"
            try:
                async with session.request(
                    change.method,
                    url,
                    json=change.body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=20),
                ) as response:
                    change.status = response.status
                    if response.status < HTTPStatus.INTERNAL_SERVER_ERROR:
                        return  # answered: done, or refused (a 4xx is not retried)
            except (aiohttp.ClientError, TimeoutError):
                change.status = None
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _postmortem(self, session: aiohttp.ClientSession, pd_id: str) -> Json | None:
        headers = {"Authorization": f"Bearer {self.world.secrets.admin_token}"}
        url = f"{self.fleet.pick().url}/api/v1/postmortems/pm:pagerduty:{pd_id}"
        try:
            async with session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                if response.status != HTTPStatus.OK:
                    return None
                body: Json = await response.json()
                return body
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
            return None


def _delivery(pd_id: str, event_type: str, incident: Json, at: datetime) -> Delivery:
    event = pagerduty_event(event_type, incident, at)
    event["event"]["data"]["status"] = event_type.removeprefix("incident.")  # as it was then
    body = json.dumps(event).encode()
    return Delivery(str(uuid.uuid4()), pd_id, body)
