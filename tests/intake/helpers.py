"""Fixture loading and request signing shared by the intake tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PD_EXAMPLES = FIXTURES / "pagerduty_webhook_examples"
IO_EXAMPLES = FIXTURES / "incidentio_webhook_examples"
PD_REST = FIXTURES / "pagerduty_rest_examples"
IO_REST = FIXTURES / "incidentio_rest_examples"

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW_TS = str(int(NOW.timestamp()))


def load(path: Path) -> Any:
    return json.loads(path.read_bytes())


def pd_envelope(data: dict[str, Any], event_type: str, **event: Any) -> dict[str, Any]:
    """A V3 webhook body around an example `event.data`."""
    return {
        "event": {
            "id": event.get("id", "01EVENT"),
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": event.get("occurred_at", "2020-10-02T18:45:22.169Z"),
            "agent": event.get("agent"),
            "client": None,
            "data": data,
        }
    }


def pd_signature(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def svix_headers(
    secret: str, body: bytes, msg_id: str = "msg_1", ts: str = NOW_TS
) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def slack_headers(secret: str, body: bytes, ts: str = NOW_TS) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest}


def jira_headers(secret: str, body: bytes, identifier: str | None = "abc-1") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature": "sha256=" + digest}
    if identifier:
        headers["X-Atlassian-Webhook-Identifier"] = identifier
    return headers
