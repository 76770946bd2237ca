"""JSON error answers: `{"error": {"code": …, "message": …}}`, everywhere, never a traceback."""

from __future__ import annotations

from hub.intake.frontdoor import refusal_response

# One shape for every endpoint: the webhook front door's (intake may not import web).
error_response = refusal_response


# aiohttp raises these for routing and protocol problems before a handler runs.
HTTP_ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    503: "unavailable",
}
