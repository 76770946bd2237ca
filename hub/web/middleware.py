"""Middlewares (as factories, aiohttp style): request context, one summary line, JSON errors."""

from __future__ import annotations

import secrets
import time
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from hub.metrics import REQUEST_LATENCY
from hub.web.errors import HTTP_ERROR_CODES, error_response

log = structlog.get_logger("pmhub.http")
_MAX_REQUEST_ID = 128


def _route_name(request: web.Request) -> str:
    """The route template, not the raw path: bounded metric label cardinality."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _request_id(request: web.Request) -> str:
    incoming = request.headers.get("X-Request-Id", "")
    if incoming and len(incoming) <= _MAX_REQUEST_ID and incoming.isprintable():
        return incoming
    return secrets.token_hex(12)  # cheaper than uuid4 on the hot path; as unique in practice


def request_context_middleware() -> Middleware:
    """Bind a request id, answer every failure as JSON, and log one line per request."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = _request_id(request)
        # Handlers add facts (e.g. the delivery id) to this request's one summary line;
        # a keep-alive connection serves requests in one task, so start each one clean.
        structlog.contextvars.clear_contextvars()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = await _answer(request, handler)
            response.headers["X-Request-Id"] = request_id
            elapsed = time.perf_counter() - started
            route = _route_name(request)
            REQUEST_LATENCY.labels(route=route, status=f"{response.status // 100}xx").observe(
                elapsed
            )
            log.info(
                "http.request",
                method=request.method,
                route=route,
                status=response.status,
                duration_ms=round(elapsed * 1000, 2),
            )
            return response

    return middleware


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < HTTPStatus.BAD_REQUEST:  # redirects pass through untouched
            return exc
        code = HTTP_ERROR_CODES.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason, headers=_retry_after(exc))
    except Exception:
        # The last resort: never a traceback to the caller. Log it whole for us.
        log.exception("http.unhandled_error", method=request.method, path=request.path)
        return error_response(500, "internal_error", "internal error; see the pmhub log")


def _retry_after(exc: web.HTTPException) -> dict[str, str] | None:
    value = exc.headers.get("Retry-After")
    return {"Retry-After": value} if value else None
