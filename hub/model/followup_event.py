"""A fact about a follow-up action, as a tracker (incident.io, Jira) reported it.

Deliberately small: pmhub owns the follow-up list of a post-mortem; these facts
only tell it that an item it may know about changed state somewhere else.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from hub.model.incident import Frozen, Person


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
    priority: str | None = None
    at: datetime | None = None  # the vendor's timestamp of this state
    incident_id: str | None = None  # pmhub incident id, when the source says
    url: str | None = None
