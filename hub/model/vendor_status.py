"""The status an incident tool keeps for its own post-mortem document (incident.io).

PostHog's process runs in incident.io (seeds 000, 001): people mark the post-mortem
complete there. pmhub takes that at its word - incident.io's status and pmhub's move
together - so the adapter turns incident.io's reports into a `VendorStatusFact`, the
post-mortem keeps the latest one (`PostMortem.vendor_status`), and the policy walks
pmhub's lifecycle towards it (with its guards) and writes pmhub's own moves back.

incident.io names the statuses differently on its two sides: the REST API says
`in_progress`, `in_review`, `completed`; the webhook's `new_status` says `not_started`,
`created`, `review`, `complete`. Both come down to the three below.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from hub.model.incident import Frozen


class VendorPostmortemStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    COMPLETED = "completed"


# Every spelling incident.io uses (API and webhook), to the status it means.
INCIDENTIO_STATUSES = {
    "in_progress": VendorPostmortemStatus.IN_PROGRESS,
    "not_started": VendorPostmortemStatus.IN_PROGRESS,
    "created": VendorPostmortemStatus.IN_PROGRESS,
    "in_review": VendorPostmortemStatus.IN_REVIEW,
    "review": VendorPostmortemStatus.IN_REVIEW,
    "completed": VendorPostmortemStatus.COMPLETED,
    "complete": VendorPostmortemStatus.COMPLETED,
}


class VendorStatusFact(Frozen):
    """An incident tool reports the status of an incident's post-mortem document."""

    source: str = Field(description="'incidentio'")
    incident_id: str = Field(description="pmhub's incident id")
    document_id: str
    status: VendorPostmortemStatus
    at: datetime | None = Field(default=None, description="the vendor's time, when it says")


class VendorStatus(Frozen):
    """The latest status the incident tool reported, kept on the post-mortem."""

    source: str
    document_id: str
    status: VendorPostmortemStatus
    at: datetime = Field(description="when pmhub heard it (the vendor's time, if given)")
    held: tuple[str, ...] = Field(
        default=(),
        description="why pmhub could not follow when it tried (a guard it can only check "
        "then, such as the document's sections): the owner is told",
    )
