"""Sign deliveries the way each vendor does, for tests (independent of pmhub's verifiers)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

PAGERDUTY_SECRET = "pd-test-signing-secret-0123456789"


def pagerduty_signature(body: bytes, secret: str = PAGERDUTY_SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def pagerduty_delivery(
    event_type: str = "incident.triggered",
    *,
    incident_id: str = "PGR0VU2",
    webhook_id: str | None = None,
    secret: str = PAGERDUTY_SECRET,
    extra_data: dict[str, Any] | None = None,
    occurred_at: str = "2026-11-20T14:05:00.000Z",
) -> tuple[bytes, dict[str, str]]:
    """A signed PagerDuty V3 webhook body and its headers."""
    event_id = str(uuid.uuid4())
    body = json.dumps(
        {
            "event": {
                "id": event_id,
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": occurred_at,
                "agent": None,
                "client": None,
                "data": {
                    "id": incident_id,
                    "type": "incident",
                    "number": 1042,
                    "title": "Checkout API 5xx",
                    "status": "triggered",
                    "created_at": "2026-11-20T14:00:00Z",
                    **(extra_data or {}),
                },
            }
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-PagerDuty-Signature": pagerduty_signature(body, secret),
        "X-Webhook-Id": webhook_id or str(uuid.uuid4()),
    }
    return body, headers
