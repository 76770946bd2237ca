"""WRITE_VENDOR_STATUS: pmhub moved the post-mortem, incident.io's document says so too.

`PUT /v1/postmortem_documents/{id}` with `in_review` or `completed`: the same status
twice is the same document, so a retry after an unknown outcome simply sets it again.
incident.io then reports the change back (a webhook); pmhub already is there, and the
plan never writes a status behind what incident.io reported.
"""

from __future__ import annotations

from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.model.intent import IntentKind, WriteVendorStatus
from hub.ports import IncidentIoApi


def vendor_performers(incidentio: IncidentIoApi) -> dict[IntentKind, Performer]:
    async def write(request: EffectRequest) -> EffectOutcome:
        change = payload_of(request.intent, WriteVendorStatus)
        document = await incidentio.set_postmortem_status(change.document_id, change.status)
        return EffectOutcome(
            vendor_ref=change.document_id, detail={"status": str(document.get("status"))}
        )

    return {IntentKind.WRITE_VENDOR_STATUS: write}
