"""Signing a delivery the way each vendor does: the inverse of the verifiers.

Used by `pmhub sign` (send your own event to a running pmhub) and the sandbox demo,
which replays vendor events through the real, verified endpoints.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime

SOURCES = ("pagerduty", "incidentio", "slack/commands", "slack/interactions", "jira")
_FORM = "application/x-www-form-urlencoded"


def _hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_headers(
    source: str, secret: str, body: bytes, now: datetime, *, delivery_id: str | None = None
) -> dict[str, str]:
    """The headers that make `body` an authentic delivery from `source`.

    `delivery_id` repeats an earlier delivery's id, as a vendor's redelivery does.
    """
    delivery_id = delivery_id or str(uuid.uuid4())
    timestamp = str(int(now.timestamp()))
    if source == "pagerduty":
        return {
            "Content-Type": "application/json",
            "X-PagerDuty-Signature": f"v1={_hex(secret.encode(), body)}",
            "X-Webhook-Id": delivery_id,
        }
    if source == "incidentio":
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{delivery_id}.{timestamp}.".encode() + body
        digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return {
            "Content-Type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": f"v1,{digest}",
        }
    if source in ("slack/commands", "slack/interactions"):
        basestring = f"v0:{timestamp}:".encode() + body
        return {
            "Content-Type": _FORM,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={_hex(secret.encode(), basestring)}",
        }
    if source == "jira":
        return {
            "Content-Type": "application/json",
            "X-Hub-Signature": f"sha256={_hex(secret.encode(), body)}",
            "X-Atlassian-Webhook-Identifier": delivery_id,
        }
    raise ValueError(f"unknown source {source!r} (allowed: {', '.join(SOURCES)})")


def is_json_source(source: str) -> bool:
    return not source.startswith("slack/")


def check_body(source: str, body: bytes) -> str | None:
    """Why this body would be refused (400) by pmhub, or None."""
    if not is_json_source(source):
        return None
    try:
        json.loads(body)
    except ValueError as exc:
        return f"not JSON: {exc}"
    return None
