"""Middlewares (as factories, aiohttp style): request context, one summary line, JSON errors."""

from __future__ import annotations

import itertools
import secrets
import time
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from hub.intake.request_body import BODY_UNREADABLE
from hub.metrics import Metrics
from hub.web.errors import HTTP_ERROR_CODES, error_response
from hub.web.serving import mark_request_started

log = structlog.get_logger("pmhub.http")
_MAX_REQUEST_ID = 128
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


def _route_name(request: web.Request) -> str:
    """The route template, not the raw path: bounded metric label cardinality."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _request_id(request: web.Request) -> str:
    incoming = request.headers.get("X-Request-Id", "")
    if incoming and len(incoming) <= _MAX_REQUEST_ID and incoming.isprintable():
        return incoming
    # A random prefix per process and a counter: unique, and no system call per request.
    return f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"


def request_context_middleware(metrics: Metrics) -> Middleware:
    """Bind a request id, answer every failure as JSON, and log one line per request."""
    # Made once, with the app (after `configure_logging`): the module's lazy logger
    # rebuilds itself on every call, a cost paid even when the line is filtered out.
    summary = log.bind()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        mark_request_started(request.transport)  # its headers are in: no header timeout
        request_id = _request_id(request)
        # aiohttp runs each request in a task of its own, on a copy of the connection's
        # context: what the request binds (here, and the handler's facts for the one
        # summary line) ends with it, with nothing to clear or reset.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response = await _answer(request, handler)
        response.headers["X-Request-Id"] = request_id
        if BODY_UNREADABLE.get():
            response.force_close()
        elapsed = time.perf_counter() - started
        route = _route_name(request)
        metrics.observe_request(route, response.status, elapsed)
        summary.info(
            "http.request",
            method=request.method,
            route=route,
            status=response.status,
            duration_ms=round(elapsed * 1000, 2),
        )
        return response

    return middleware


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _holds_nul(request):
        # No stored name holds one, and PostgreSQL's text cannot: asked as it is, the
        # store refuses the query and the caller saw a 500.
        return error_response(
            400, HTTP_ERROR_CODES[400], "the path or query holds a NUL character (%00)"
        )
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


def _holds_nul(request: web.Request) -> bool:
    values = [*request.match_info.values(), *request.query.keys(), *request.query.values()]
    return any("\x00" in value for value in values)


def _retry_after(exc: web.HTTPException) -> dict[str, str] | None:
    value = exc.headers.get("Retry-After")
    return {"Retry-After": value} if value else None
