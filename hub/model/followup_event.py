"""A fact about a follow-up action, as a tracker (incident.io, Jira) reported it.

Deliberately small: pmhub owns the follow-up list of a post-mortem; these facts
only tell it that an item it may know about changed state somewhere else.

Priorities: pmhub's policies, its Jira `priority_map` and the admin API speak
P0..P3. Trackers name priorities their own way (incident.io lets every
organisation name its follow-up priorities), so an adapter translates a vendor
name through a table (`follow_up_priority`) and keeps the vendor's own name beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from hub.model.incident import Frozen, Person

FollowUpPriority = Literal["P0", "P1", "P2", "P3"]
# incident.io's own follow-up priorities, as an organisation starts with them.
DEFAULT_FOLLOW_UP_PRIORITIES: Mapping[str, FollowUpPriority] = {
    "Urgent": "P0",
    "High": "P1",
    "Medium": "P2",
    "Low": "P3",
}
# "P1", "p1", " P 1 ": already pmhub's vocabulary, whatever the map says.
_P_NAME = re.compile(r"^\s*p\s*([0-3])\s*$", re.IGNORECASE)


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def follow_up_priority(
    name: str | None, table: Mapping[str, FollowUpPriority] = DEFAULT_FOLLOW_UP_PRIORITIES
) -> str | None:
    """pmhub's priority for a vendor's priority name.

    The table first (names compared ignoring case and spacing), then P0..P3 as
    written. A name neither knows is kept as the vendor spelled it: the policy
    then flags the follow-up to its owner ("priority Nice to have is not one the
    policy files") instead of guessing, and people override or drop it.
    """
    if name is None or not name.strip():
        return None
    wanted = _fold(name)
    for key, priority in table.items():
        if _fold(key) == wanted:
            return priority
    if match := _P_NAME.match(name):
        return f"P{match.group(1)}"
    return name.strip()


class FollowUpStatus(StrEnum):
    OPEN = "open"
    # Anything that no longer needs doing: completed, "not doing", deleted.
    DONE = "done"


class FollowUpFact(Frozen):
    source: str  # "incidentio" | "jira"
    external_id: str  # incident.io follow-up id, or the Jira issue key
    title: str = ""
    status: FollowUpStatus = FollowUpStatus.OPEN
    owner: Person | None = None
    priority: str | None = Field(
        default=None, description="pmhub's priority (P0..P3 when the vendor name is mapped)"
    )
    priority_source: str | None = Field(
        default=None, description="the vendor's own priority name, e.g. 'Urgent'"
    )
    at: datetime | None = None  # the vendor's timestamp of this state
    incident_id: str | None = None  # pmhub incident id, when the source says
    url: str | None = None
    # The tracker's due date (issue 15), when the delivery says; `due_reported` tells a
    # cleared due date (None, reported) from a delivery that does not carry one.
    due_on: date | None = None
    due_reported: bool = False
