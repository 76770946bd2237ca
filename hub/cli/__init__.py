"""The `pmhub` command: serve, check, doctor, schema, migrate, jobs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app import create_app
from hub.cli.common import (
    config_option,
    load_all_or_exit,
    load_or_exit,
    one_line,
    with_store,
)
from hub.cli.doctor import doctor
from hub.cli.jobs import jobs
from hub.cli.policy import policy
from hub.cli.report import report
from hub.cli.sign import sign
from hub.cli.simulate import simulate
from hub.config import Settings, secret_values, settings_json_schema
from hub.demo.command import demo
from hub.logging import configure_logging
from hub.model.incident import Source
from hub.policy import policy_json_schema
from hub.policy.coverage import severity_warnings
from hub.store.migrate import head_revision, upgrade
from hub.web.listeners import bind_listeners
from hub.web.serving import serve as serve_app


class OneLineErrors(click.Group):
    """A failure nobody foresaw is still one line on stderr and exit 1, not a traceback;
    `PMHUB_DEBUG=1` lets the traceback through for whoever is chasing it."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("PMHUB_DEBUG"):
                raise
            reason = one_line(f"{type(exc).__name__}: {exc}")
            click.echo(f"pmhub: {reason} (PMHUB_DEBUG=1 shows where)", err=True)
            sys.exit(1)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pmhub")
def main() -> None:
    """pmhub: the incident post-mortem process, done by a daemon."""


main.add_command(jobs)
main.add_command(policy)
main.add_command(simulate)
main.add_command(sign)
main.add_command(demo)
main.add_command(report)
main.add_command(doctor)


@main.command()
@config_option
def check(config_path: Path) -> None:
    """Validate the configuration (and the policy files it lists)."""
    settings, policies = load_all_or_exit(config_path)
    # Warnings, not problems: the configuration works, but some incidents may be missed.
    sources = [s for s in Source if getattr(settings.sources, s.value) is not None]
    for warning in severity_warnings(policies, sources):
        click.echo(str(warning), err=True)
    rules = sum(1 for _ in policies.rules())
    click.echo(
        f"{settings.config_path}: OK ({len(settings.policies)} policy file(s), {rules} rule(s))"
    )


@main.command()
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


@main.command()
@config_option
def migrate(config_path: Path) -> None:
    """Bring the store's schema to the newest migration."""
    settings = load_or_exit(config_path)

    async def work(engine: AsyncEngine) -> None:
        await upgrade(engine)

    with_store(settings, work)
    click.echo(f"store at revision {head_revision()}")


@main.command()
@click.argument("what", type=click.Choice(["config", "policy"]), default="config")
def schema(what: str) -> None:
    """Print the JSON Schema of the configuration (or of the policy language) for editors."""
    document = policy_json_schema() if what == "policy" else settings_json_schema()
    click.echo(json.dumps(document, indent=2))
