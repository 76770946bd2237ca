"""`POST /webhooks/{source}`: the front door every source shares.

The pipeline is short on purpose (Sentry style, each failure with its own status):
known source (404) → size (413) → media type (415) → the source's verifier (401/400) →
one transaction that stores the raw delivery and its `ingest` job → 202. Nothing on
this path calls a vendor or evaluates a policy: vendors time out fast (Slack 3 s,
PagerDuty 5 s), and what is stored is never lost, so the work can wait for a job.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus

import structlog
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from hub.intake.inbox import AcceptResult, Delivery
from hub.intake.request_body import DEFAULT_BODY_TIMEOUT_SECONDS, UnreadableBody, read_body
from hub.intake.verifiers import IntakeRejection, VerifiedDelivery, Verifier

log = structlog.get_logger("pmhub.intake")
_RETRY_LATER_SECONDS = "5"


class _Refused(Exception):
    """One stage of the pipeline said no; carries the answer and the metric outcome."""

    def __init__(
        self, status: int, code: str, message: str, outcome: str, retry_after: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.outcome, self.retry_after = outcome, retry_after


@dataclass(frozen=True)
class FrontDoor:
    """The webhook endpoint, given what it needs by the wiring (hub/app.py).

    `accept` stores a delivery with its ingest job (the group-commit writer), `wake`
    tells the worker there is work, `count` counts each answer by source and outcome.
    """

    verifiers: Mapping[str, Verifier]
    accept: Callable[[Delivery], Awaitable[AcceptResult]]
    wake: Callable[[], None]
    count: Callable[[str, str], None]
    clock: Callable[[], datetime]
    max_body_bytes: int
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS

    async def handle(self, request: web.Request) -> web.StreamResponse:
        source = request.match_info["source"]
        try:
            verifier = self._known_source(source)
            body = await _read_body(
                request, verifier, self.max_body_bytes, self.body_timeout_seconds
            )
            verified = _verify(verifier, request, body, self.clock())
            new = await self._store(source, verified, body)
        except _Refused as refused:
            self.count(source if source in self.verifiers else "unknown", refused.outcome)
            headers = {"Retry-After": refused.retry_after} if refused.retry_after else None
            return refusal_response(refused.status, refused.code, refused.message, headers)
        self.count(source, "accepted" if new else "duplicate")
        if new:
            self.wake()
        # Carried by the request's one summary line (`http.request`), not a second line.
        structlog.contextvars.bind_contextvars(
            source=source,
            delivery_id=verified.delivery_id,
            event_type=verified.event_type,
            duplicate=not new,
        )
        if verified.ack_empty:
            return web.Response(status=verified.ack_status)
        if verified.ack_body is not None:
            return web.json_response(verified.ack_body, status=verified.ack_status)
        # The common answer, rendered once: this path runs for every delivery of a storm.
        text = _DUPLICATE if not new else _ACCEPTED
        return web.Response(text=text, status=verified.ack_status, content_type="application/json")

    def _known_source(self, source: str) -> Verifier:
        verifier = self.verifiers.get(source)
        if verifier is None:
            raise _Refused(
                404, "unknown_source", f"no webhook source named '{source}'", "unknown_source"
            )
        return verifier

    async def _store(self, source: str, verified: VerifiedDelivery, body: bytes) -> bool:
        delivery = Delivery(
            source=source,
            delivery_id=verified.delivery_id,
            event_type=verified.event_type,
            headers=verified.kept_headers,
            body=body,
        )
        try:
            result = await self.accept(delivery)
        except (SQLAlchemyError, OSError):
            # Not stored, so not acknowledged: the vendor's retry brings it back.
            log.exception("webhook.store_failed", source=source, delivery_id=verified.delivery_id)
            raise _Refused(
                503,
                "store_unavailable",
                "the delivery could not be stored; retry later",
                "error",
                retry_after=_RETRY_LATER_SECONDS,
            ) from None
        return result.new


_ACCEPTED = json.dumps({"status": "accepted", "duplicate": False})
_DUPLICATE = json.dumps({"status": "accepted", "duplicate": True})


def refusal_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """`{"error": {"code", "message"}}`: the one error shape of every pmhub endpoint (the
    admin API's `hub.web.errors` answers with this function too)."""
    return web.json_response(
        {"error": {"code": code, "message": message}},
        status=status,
        headers=dict(headers) if headers else None,
    )


async def _read_body(
    request: web.Request, verifier: Verifier, limit: int, timeout_seconds: float
) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    if request.content_type not in verifier.content_types:
        allowed = ", ".join(sorted(verifier.content_types))
        raise _Refused(
            415,
            "unsupported_media_type",
            f"content type '{request.content_type}' not accepted (allowed: {allowed})",
            "unsupported_media_type",
        )
    try:
        return await read_body(request, timeout_seconds)
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(limit) from None
    except UnreadableBody as unreadable:
        outcome = "timeout" if unreadable.status == HTTPStatus.REQUEST_TIMEOUT else "malformed"
        raise _Refused(unreadable.status, unreadable.code, unreadable.message, outcome) from None


def _too_large(limit: int) -> _Refused:
    return _Refused(413, "payload_too_large", f"body over {limit} bytes", "too_large")


def _verify(
    verifier: Verifier, request: web.Request, body: bytes, now: datetime
) -> VerifiedDelivery:
    try:
        return verifier.verify(request.headers, body, now)
    except IntakeRejection as rejection:
        outcome = "unauthorized" if rejection.status == HTTPStatus.UNAUTHORIZED else "malformed"
        log.info("webhook.rejected", source=verifier.source, code=rejection.code)
        raise _Refused(rejection.status, rejection.code, rejection.message, outcome) from None
