"""Serving a vendor fake on loopback, for tests and the sandbox demo."""

from __future__ import annotations

import ssl

from aiohttp import web


async def start_fake(
    app: web.Application, *, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, str]:
    """Serve `app` on 127.0.0.1 at a free port; returns the runner (clean it up) and base URL."""
    # A short shutdown bound: hanging handlers are released on shutdown anyway.
    runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    host, port = runner.addresses[0][:2]
    scheme = "https" if ssl_context else "http"
    return runner, f"{scheme}://{host}:{port}"
