"""The public listener and the optional admin listener (`server.admin_port`).

One application serves both, on two sockets: the webhook port can then face the
internet alone while `/api/v1`, `/metrics` and `/readyz` answer only on a port the
network keeps inside (a Kubernetes probe, a Prometheus scrape, an operator's tunnel).
A middleware tells the listeners apart by the local port a request arrived on, which
is the port its listening socket is bound to; so one runtime (store, worker, clients)
serves both, and a single `web.run_app` still handles signals and graceful shutdown.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from hub.config.core import ServerSettings
from hub.web.errors import error_response

ADMIN_PREFIXES = ("/api/v1/", "/metrics", "/readyz")
# Both listeners answer liveness: a load balancer in front of the webhook port needs
# something to probe, and /healthz says nothing but "the process answers".
SHARED_PATHS = frozenset({"/healthz"})


def is_admin_path(path: str) -> bool:
    return path == "/api/v1" or path.startswith(ADMIN_PREFIXES)


@dataclass(frozen=True)
class Listeners:
    """The bound sockets: `public` always, `admin` when `server.admin_port` is set."""

    public: socket.socket
    admin: socket.socket | None

    @property
    def sockets(self) -> list[socket.socket]:
        return [self.public] if self.admin is None else [self.public, self.admin]

    @property
    def admin_port(self) -> int | None:
        return None if self.admin is None else _port(self.admin)

    def describe(self) -> dict[str, str]:
        """`host:port` of each listener, as bound (a configured 0 shows the port picked)."""
        shown = {"public": _address(self.public)}
        if self.admin is not None:
            shown["admin"] = _address(self.admin)
        return shown

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def bind_listeners(server: ServerSettings) -> Listeners:
    """Bind the configured listeners now, so a port in use is reported before start-up."""
    public = _bind(server.host, server.port)
    if server.admin_port is None:
        return Listeners(public, None)
    try:
        admin = _bind(server.admin_host or server.host, server.admin_port)
    except OSError:
        public.close()
        raise
    return Listeners(public, admin)


def _bind(host: str, port: int) -> socket.socket:
    # getaddrinfo picks the family: "0.0.0.0" is IPv4, "::" IPv6, a name its first address.
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        # What aiohttp's own TCPSite does: a restarted daemon rebinds at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listener_split_middleware(admin_port: int | None) -> Middleware:
    """With an admin listener, each route answers on its own listener only (404 elsewhere).

    `admin_port` is the port the admin socket is bound to; None: one listener serves all.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if admin_port is None or request.path in SHARED_PATHS:
            return await handler(request)
        on_admin = _local_port(request) == admin_port
        if on_admin != is_admin_path(request.path):
            # The very answer of an unknown path: the internet learns nothing of the rest.
            return error_response(404, "not_found", "Not Found")
        return await handler(request)

    return middleware


def _local_port(request: web.Request) -> int | None:
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:  # noqa: PLR2004 - (host, port, ...)
        return int(sockname[1])
    return None
