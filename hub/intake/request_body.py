"""Reading a request's body with the bounds a listener facing the internet needs.

A body is read whole before anything looks at it (signatures are over raw bytes), so
the two ways a client can make that read fail are answered here, the same for the
webhook front door and the admin API: a body that does not decode as its
`Content-Encoding` says (400, aiohttp's `RequestPayloadError`), and a body that does
not arrive in time (408; a slow client holds a connection and a task while it dribbles).
The size limit stays with the caller, which knows how it answers it.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

from aiohttp import web

DEFAULT_BODY_TIMEOUT_SECONDS = 10.0  # server.body_timeout_seconds' default
# Set while answering a request whose body could not be read: what is left of it on the
# connection cannot be told from the next request, so the answer closes the connection.
# A context variable, not request storage: aiohttp runs each request in a task of its
# own (on a copy of the connection's context), so the flag ends with the request.
BODY_UNREADABLE: ContextVar[bool] = ContextVar("pmhub_body_unreadable", default=False)


class UnreadableBody(Exception):
    """The body could not be read; `status`, `code` and `message` are the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def read_body(request: web.BaseRequest, timeout_seconds: float) -> bytes:
    """The whole body, or `UnreadableBody`; `HTTPRequestEntityTooLarge` passes through."""
    try:
        async with asyncio.timeout(timeout_seconds):
            return await request.read()
    except web.RequestPayloadError:
        BODY_UNREADABLE.set(True)
        # The stream holds the decoding error; aiohttp would read it again after the
        # answer (its lingering close) and log it as an unhandled exception, a traceback
        # per request a client can send at will. Nothing more will be read from it.
        request.content.feed_eof()
        raise UnreadableBody(
            400, "malformed_body", "the body could not be read (does Content-Encoding match it?)"
        ) from None
    except TimeoutError:
        BODY_UNREADABLE.set(True)
        raise UnreadableBody(
            408, "request_timeout", f"the body did not arrive within {timeout_seconds:g} s"
        ) from None
