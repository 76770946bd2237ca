"""Serving the application on the bound listeners, with the bounds a port facing the
internet needs (issue 10 §3): slow clients are timed out, and connections are capped.

* Headers: `server.header_timeout_seconds` after a connection opens, it is closed unless
  a request's headers have all arrived (the request context middleware marks its
  transport: `mark_request_started`); only recent aiohttp versions (3.14 among them)
  close a connection that never sent a request, so the guard is here. The requests after
  the first on a kept-alive connection are bounded by aiohttp's `keepalive_timeout`
  (`server.keepalive_timeout_seconds`, from each answer, not reset by partial data),
  longer on purpose: a proxy in front reuses idle connections.
* Bodies: `server.body_timeout_seconds` bounds the read of a body once a handler starts
  it (`hub.intake.request_body`), answered 408. What is left of an unread body is then
  read and dropped for `LINGER_SECONDS` at most (aiohttp's lingering close, 10 s by
  default, lets the client see the answer before the connection closes).
* Connections: aiohttp has no cap, so the listening sockets are served by a site whose
  protocol factory answers one connection past `server.max_connections` with a 503 and
  closes it, without parsing anything it sent.

This is `web.run_app` reduced to what `pmhub serve` uses (already bound sockets, SIGINT
and SIGTERM for a graceful shutdown), with the capped site in place of its `SockSite`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import weakref
from collections.abc import Iterable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from hub.config.core import ServerSettings

_REFUSAL_BODY = json.dumps(
    {"error": {"code": "too_many_connections", "message": "too many connections; retry later"}}
).encode()
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n\r\n" + _REFUSAL_BODY
)


class _Refusal(asyncio.Protocol):
    """A connection over the cap: one fixed answer, then closed; nothing is read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(REFUSAL)
        transport.close()


# The transports that have delivered a request's headers. Weak: a closed connection's
# transport leaves by itself; a module-level set because the middleware that sees a
# request and the protocol factory that sees a connection are made apart.
_STARTED: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()


def mark_request_started(transport: asyncio.BaseTransport | None) -> None:
    """A request's headers arrived on this connection (called for every request)."""
    if transport is not None:
        _STARTED.add(transport)


def _close_if_no_request(handler: RequestHandler) -> None:
    transport = handler.transport
    if transport is not None and transport not in _STARTED:
        handler.force_close()


class ConnectionCap:
    """Counts open connections across every listener; past `limit`, a `_Refusal`.

    aiohttp's server registers a connection when asyncio calls `connection_made`, one
    loop turn after the factory ran; the connections accepted in the current turn are
    counted here until then, so a burst cannot slip past the cap.
    """

    def __init__(self, runner: web.AppRunner, limit: int, header_timeout: float) -> None:
        self._runner, self.limit, self._header_timeout = runner, limit, header_timeout
        self._accepted_this_turn = 0

    def open_connections(self) -> int:
        server = self._runner.server
        return (len(server.connections) if server is not None else 0) + self._accepted_this_turn

    def __call__(self) -> asyncio.BaseProtocol:
        server = self._runner.server
        if server is None or self.open_connections() >= self.limit:
            return _Refusal()  # no server: the runner is shutting down
        loop = asyncio.get_running_loop()
        if self._accepted_this_turn == 0:
            loop.call_soon(self._new_turn)
        self._accepted_this_turn += 1
        handler = server()
        loop.call_later(self._header_timeout, _close_if_no_request, handler)
        return handler

    def _new_turn(self) -> None:
        self._accepted_this_turn = 0


class CappedSockSite(web.SockSite):
    """`web.SockSite` with its connections made by a `ConnectionCap`."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, cap: ConnectionCap) -> None:
        super().__init__(runner, sock)
        self._cap = cap

    async def start(self) -> None:
        # BaseSite.start registers the site with its runner (which then stops it);
        # SockSite.start is skipped on purpose: its factory is the uncapped server.
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._cap, sock=self._sock)


LINGER_SECONDS = 2.0


def make_runner(app: web.Application, server: ServerSettings) -> web.AppRunner:
    return web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=server.keepalive_timeout_seconds,
        lingering_time=LINGER_SECONDS,
    )


async def start_sites(
    runner: web.AppRunner, sockets: Iterable[socket.socket], server: ServerSettings
) -> ConnectionCap:
    """The runner is set up; serve each socket under one connection cap."""
    cap = ConnectionCap(runner, server.max_connections, server.header_timeout_seconds)
    for sock in sockets:
        await CappedSockSite(runner, sock, cap).start()
    return cap


async def _serve(
    app: web.Application, sockets: list[socket.socket], server: ServerSettings
) -> None:
    # Signals end the wait, and the shutdown runs inside this task while everything else
    # (the worker's jobs, the inbox writer) still runs: what `web.run_app` gets from
    # cancelling its main task first. A signal raised through the loop (aiohttp's
    # `handle_signals`) would reach `asyncio.run`, which cancels every task at once.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = make_runner(app, server)
    await runner.setup()
    try:
        await start_sites(runner, sockets, server)
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(app: web.Application, sockets: list[socket.socket], server: ServerSettings) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully (the app's cleanup runs)."""
    asyncio.run(_serve(app, sockets, server))
