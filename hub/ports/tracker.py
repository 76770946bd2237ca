"""Issue trackers (Jira): follow-up tickets filed, found again, closed and reopened.

The tracker is the one effect pmhub cannot make idempotent by a key the vendor
honours (Jira has no client request id), so the port carries a `marker`: the
intent's effect key. A connector stamps it on what it creates and can find it
again, which is how a retry whose previous outcome was lost (the request went out,
the answer never came back) avoids filing a second ticket.

Every method raises only `hub.errors` types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from hub.errors import ConnectorError


class StatusCategory(StrEnum):
    """Where a ticket is in its workflow, whatever the workflow calls its statuses.

    Trackers let every team name statuses freely but map each onto one of these
    (Jira's status categories `new` / `indeterminate` / `done`), so pmhub reasons
    about categories only.
    """

    TO_DO = "to_do"
    IN_PROGRESS = "in_progress"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class TicketLink:
    """A link back from a ticket to where it came from (incident, document, pager)."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class TicketRequest:
    """One ticket to file: a follow-up, or the parent "Post-mortem" ticket.

    `labels` are already rendered by the policy. `priority_name` is the priority as
    people write it in pmhub ("P1"); the connector maps it to the tracker's names.
    `marker` is the effect key of the intent (`pm:<id>:followup:<n>:ticket`).
    `project`, `issue_type` and `components` are the team's (issue 15); None: the
    connector's configured ones. `due_on` is the follow-up's due date.
    """

    summary: str
    description: str
    marker: str
    labels: tuple[str, ...] = ()
    priority_name: str | None = None
    assignee_email: str | None = None
    parent_key: str | None = None
    links: tuple[TicketLink, ...] = ()
    project: str | None = None
    issue_type: str | None = None
    components: tuple[str, ...] | None = None
    due_on: date | None = None


@dataclass(frozen=True, slots=True)
class TicketRef:
    """A ticket as the tracker knows it.

    `status_category` is None when it was not read back: `create` learns only the
    key, and a new ticket's first status is whatever its workflow starts with.
    """

    key: str
    url: str
    status_category: StatusCategory | None = None
    # Filed without the requested assignee (the tracker does not know them, or the
    # look-up failed): why, for the post-mortem owner. An enrichment, never a failure.
    unassigned_reason: str | None = None


class Tracker(Protocol):
    async def find_by_marker(self, marker: str) -> TicketRef | None:
        """The ticket an earlier attempt filed for `marker`, if any."""
        ...

    async def create(self, request: TicketRequest, *, unknown_outcome: bool = False) -> TicketRef:
        """File one ticket. With `unknown_outcome`, first look for one filed by an
        attempt whose answer was lost, and return that instead of filing again."""
        ...

    async def create_many(
        self, requests: Sequence[TicketRequest], *, unknown_outcome: bool = False
    ) -> list[TicketRef | ConnectorError]:
        """File several tickets in as few calls as the tracker allows.

        One result per request, in order: a ref, or the error for that item alone
        (a bad priority fails its own ticket, not its neighbours). An error that
        concerns the whole call (auth, rate limit, network) is raised instead.
        """
        ...

    async def create_parent(
        self, request: TicketRequest, *, unknown_outcome: bool = False
    ) -> TicketRef | None:
        """The per-incident parent ticket when the tracker is configured to use one
        (follow-ups then carry its key as `parent_key`); None when it is not."""
        ...

    async def set_due_date(self, key: str, due_on: date | None) -> None:
        """Set (None: clear) the ticket's due date."""
        ...

    async def get(self, key: str) -> TicketRef:
        """The ticket's current status category."""
        ...

    async def transition_to_done(self, key: str) -> TicketRef:
        """Move the ticket into a done status; a ticket already done is left alone."""
        ...

    async def reopen(self, key: str) -> TicketRef:
        """Move the ticket out of done; a ticket not done is left alone."""
        ...
