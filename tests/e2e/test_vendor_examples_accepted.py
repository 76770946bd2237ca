"""Every vendor example payload, signed as the vendor signs it, is accepted and ingested.

PagerDuty's `data_*` examples are the `event.data` of a V3 delivery; they are sent in
the envelope PagerDuty wraps them in. `create_webhook_subscription_request.json` is a
request *to* PagerDuty, not a delivery, and is not sent.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from hub.intake.signing import signed_headers
from tests.support.daemon import Daemon, running_daemon, settle, write_config
from tests.support.signing import pagerduty_signature

FIXTURES = Path(__file__).parents[1] / "fixtures"
PD = FIXTURES / "pagerduty_webhook_examples"
IO = FIXTURES / "incidentio_webhook_examples"
SVIX_SECRET = "whsec_" + base64.b64encode(b"pmhub-incidentio-example-secret!").decode()
EVENT_TYPES = {
    "data_incident.json": "incident.triggered",
    "data_incident_action_invocation.json": "incident.action_invocation.created",
    "data_incident_conference_bridge.json": "incident.conference_bridge.updated",
    "data_incident_field_values.json": "incident.custom_field_values.updated",
    "data_incident_note.json": "incident.annotated",
    "data_incident_responder.json": "incident.responder.added",
    "data_incident_role_assignment.json": "incident.role.assigned",
    "data_incident_status_update.json": "incident.status_update_published",
    "data_incident_task.json": "incident.task.created",
    "data_incident_workflow_instance.json": "incident.workflow.started",
    "data_service.json": "service.updated",
    "data_service_field_values.json": "service.custom_field_values.updated",
}


def _pagerduty_bodies() -> list[bytes]:
    bodies = []
    for path in sorted(PD.glob("*.json")):
        if path.name == "create_webhook_subscription_request.json":
            continue
        document = json.loads(path.read_text())
        if path.name.startswith("data_"):
            document = {
                "event": {
                    "id": str(uuid.uuid4()),
                    "event_type": EVENT_TYPES[path.name],
                    "resource_type": EVENT_TYPES[path.name].split(".")[0],
                    "occurred_at": "2026-11-19T14:00:00Z",
                    "data": document,
                }
            }
        bodies.append(json.dumps(document).encode())
    return bodies


async def _all_ingested(daemon: Daemon, count: int) -> None:
    await settle(daemon, max_seconds=30)  # no ingest job may be anything but done
    assert len(await daemon.runtime.queue.list_jobs(kind="ingest", limit=1000)) == count


async def test_every_example_is_accepted_when_signed_and_ingested(
    tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path, db_url)
    text = config.read_text().replace(
        "admin:", f'  incidentio:\n    webhook_secrets: ["{SVIX_SECRET}"]\nadmin:'
    )
    config.write_text(text)
    async with running_daemon(config) as daemon:
        sent = 0
        for body in _pagerduty_bodies():
            headers = {
                "Content-Type": "application/json",
                "X-PagerDuty-Signature": pagerduty_signature(body),
                "X-Webhook-Id": str(uuid.uuid4()),
            }
            response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
            assert response.status == 202, await response.text()
            sent += 1
        for path in sorted(IO.glob("*.json")):
            body = path.read_bytes()
            now = daemon.runtime.clock()
            headers = signed_headers("incidentio", SVIX_SECRET, body, now)
            response = await daemon.client.post("/webhooks/incidentio", data=body, headers=headers)
            assert response.status == 202, (path.name, await response.text())
            sent += 1
        assert sent == 14 + 34
        # Every one is normalised without error (unknown event types are ignored, not failed).
        await _all_ingested(daemon, sent)
