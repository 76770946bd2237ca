"""`POST /webhooks/{source}`: the front door every source shares.

The pipeline is short on purpose (Sentry style, each failure with its own status):
known source (404) → size (413) → media type (415) → the source's verifier (401/400) →
one transaction that stores the raw delivery and its `ingest` job → 202. Nothing on
this path calls a vendor or evaluates a policy: vendors time out fast (Slack 3 s,
PagerDuty 5 s), and what is stored is never lost, so the work can wait for a job.
"""

from __future__ import annotations

import json
from http import HTTPStatus

import structlog
from aiohttp import web
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError

from hub.intake.inbox import Delivery
from hub.intake.verifiers import IntakeRejection, VerifiedDelivery, Verifier
from hub.metrics import DELIVERIES
from hub.runtime import Runtime
from hub.web.errors import error_response
from hub.web.keys import RUNTIME

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


async def handle_webhook(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    source = request.match_info["source"]
    try:
        verifier = _known_source(runtime, source)
        body = await _read_body(request, verifier, runtime.settings.server.max_body_bytes)
        verified = _verify(verifier, request, body, runtime)
        new = await _store(runtime, source, verified, body)
    except _Refused as refused:
        metric_source = source if source in runtime.verifiers else "unknown"
        _counted(metric_source, refused.outcome).inc()
        headers = {"Retry-After": refused.retry_after} if refused.retry_after else None
        return error_response(refused.status, refused.code, refused.message, headers=headers)
    _counted(source, "accepted" if new else "duplicate").inc()
    if new:
        runtime.worker.wake()
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


_ACCEPTED = json.dumps({"status": "accepted", "duplicate": False})
_DUPLICATE = json.dumps({"status": "accepted", "duplicate": True})
_COUNTERS: dict[tuple[str, str], Counter] = {}


def _counted(source: str, outcome: str) -> Counter:
    """The deliveries counter for (source, outcome); `labels()` takes a lock and a lookup."""
    child = _COUNTERS.get((source, outcome))
    if child is None:
        child = _COUNTERS[(source, outcome)] = DELIVERIES.labels(source=source, outcome=outcome)
    return child


def _known_source(runtime: Runtime, source: str) -> Verifier:
    verifier = runtime.verifiers.get(source)
    if verifier is None:
        raise _Refused(
            404, "unknown_source", f"no webhook source named '{source}'", "unknown_source"
        )
    return verifier


async def _read_body(request: web.Request, verifier: Verifier, limit: int) -> bytes:
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
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(limit) from None


def _too_large(limit: int) -> _Refused:
    return _Refused(413, "payload_too_large", f"body over {limit} bytes", "too_large")


def _verify(
    verifier: Verifier, request: web.Request, body: bytes, runtime: Runtime
) -> VerifiedDelivery:
    try:
        return verifier.verify(request.headers, body, runtime.clock())
    except IntakeRejection as rejection:
        outcome = "unauthorized" if rejection.status == HTTPStatus.UNAUTHORIZED else "malformed"
        log.info("webhook.rejected", source=verifier.source, code=rejection.code)
        raise _Refused(rejection.status, rejection.code, rejection.message, outcome) from None


async def _store(runtime: Runtime, source: str, verified: VerifiedDelivery, body: bytes) -> bool:
    delivery = Delivery(
        source=source,
        delivery_id=verified.delivery_id,
        event_type=verified.event_type,
        headers=verified.kept_headers,
        body=body,
    )
    try:
        result = await runtime.inbox.accept(delivery)
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
