"""Status page: where the reviewed external message reaches customers (seed 004).

Once a post-mortem is Reviewed and has an external message, the engine asks a
`StatusPage` connector to publish it and records the id it returns
(`ExternalMessage.published_ref`). Whether the message may go out (linted, Reviewed)
is the engine's decision, never the connector's. Every method raises only
`hub.errors` types.

Status pages have no idempotency key, so a publish whose outcome is unknown (a
timeout, a crash between sending and recording) is retried with
`unknown_outcome=True`: the connector then looks for its own earlier effect, found
by the publication's `marker` (the effect key), before writing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

PageIncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
"""The statuses of a realtime (not scheduled-maintenance) status-page incident."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Publication:
    """One external message to publish on the status page.

    `marker` is the effect key (e.g. `pm:pagerduty:PGR0VU2:external`): it is stored
    with what is published so a retry can recognise pmhub's own earlier effect.
    `existing_id` names the status-page incident to update (or, in post-mortem mode,
    to attach the post-mortem to) when one is already known.

    `reference` (e.g. `PD-1042`), `started_at` and `resolved_at` describe the
    incident, so that in post-mortem mode the connector can find the page incident
    people opened during the outage when `existing_id` is not known.
    """

    incident_name: str
    body: str
    marker: str
    status: PageIncidentStatus = "resolved"
    component_ids: tuple[str, ...] = ()
    existing_id: str | None = None
    reference: str | None = None
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    page_id: str | None = None  # the team's page (issue 15); None: the configured one

    def __post_init__(self) -> None:
        if not self.body.strip():
            raise ValueError("an external message needs a body")
        if not self.marker.strip():
            raise ValueError("a publication needs its effect key as marker")


@dataclass(frozen=True, slots=True)
class PublishedRef:
    """What was published: the status page's id (recorded) and a link to show people.

    `how` says, for the ledger and the audit log, which page incident carries it
    when the connector had to choose (e.g. "created", "found: PD-1042 in its name").
    """

    id: str
    url: str | None = None
    how: str | None = None


class StatusPage(Protocol):
    async def publish(self, pub: Publication, *, unknown_outcome: bool = False) -> PublishedRef:
        """Publish (create or update) and return the status page's id for it.

        `unknown_outcome=True` says an earlier attempt may have taken effect: the
        connector looks for it first and does not repeat what is already there.
        """
        ...
