"""`pmhub serve`: the daemon. Its own module, imported only when it runs (see LazyGroup)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app import create_app
from hub.cli.common import config_option, load_all_or_exit, one_line, with_store
from hub.config import Settings, secret_values
from hub.logging import configure_logging
from hub.web.listeners import bind_listeners
from hub.web.serving import serve as serve_app


@click.command()
@config_option
def serve(config_path: Path) -> None:
    """Run the daemon: webhooks, worker, admin API. Refuses to start on a bad configuration."""
    settings, policies = load_all_or_exit(config_path)
    redactor = configure_logging(
        level=settings.log.level, fmt=settings.log.format, secrets=secret_values(settings)
    )
    # Reached before anything binds: an unreachable store is one line naming it.
    with_store(settings, store_reachable)
    try:
        # Bound before start-up, so a port in use is one clear line; a configured port 0
        # is known by the port it got, which the admin/public route split needs.
        listeners = bind_listeners(settings.server)
    except OSError as exc:
        click.echo(
            f"pmhub: could not start: cannot listen on {_addresses(settings)}: "
            f"{exc.strerror or exc}",
            err=True,
        )
        sys.exit(1)
    try:
        try:
            structlog.get_logger("pmhub.serve").info("pmhub.listening", **listeners.describe())
            # The slow-client bounds and the connection cap of `server` (hub/web/serving.py).
            serve_app(
                create_app(settings, policies=policies, admin_port=listeners.admin_port),
                listeners.sockets,
                settings.server,
            )
        finally:
            # A start-up failure (e.g. a schema newer than this pmhub) leaves the sockets
            # to us: the server closes only those it served on.
            listeners.close()
    except Exception as exc:  # noqa: BLE001 - any start-up failure: one clear line, no trace
        # The message may echo a URL or a vendor's answer: scrub configured secrets.
        reason = redactor.scrub_text(f"{type(exc).__name__}: {exc}")
        click.echo(one_line(f"pmhub: could not start: {reason}"), err=True)
        sys.exit(1)


def _addresses(settings: Settings) -> str:
    server = settings.server
    where = f"{server.host}:{server.port} (server.port)"
    if server.admin_port is not None:
        where += f" or {server.admin_host or server.host}:{server.admin_port} (server.admin_port)"
    return where


async def store_reachable(engine: AsyncEngine) -> None:
    async with engine.connect():
        pass
