"""`pmhub sign`: a correctly signed `curl` for a payload file, to send your own event."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from hub.cli.common import config_option, load_or_exit
from hub.config import Settings
from hub.intake.signing import SOURCES, check_body, signed_headers
from hub.runtime import utc_now


def _secret(settings: Settings, source: str) -> str | None:
    sources = settings.sources
    if source == "pagerduty" and sources.pagerduty:
        return sources.pagerduty.webhook_secrets[0].get_secret_value()
    if source == "incidentio" and sources.incidentio:
        return sources.incidentio.webhook_secrets[0].get_secret_value()
    if source.startswith("slack/") and sources.slack:
        return sources.slack.signing_secret.get_secret_value()
    if source == "jira" and sources.jira:
        return sources.jira.webhook_secret.get_secret_value()
    return None


@click.command()
@config_option
@click.option("--url", default=None, help="pmhub's base URL (default: from server.host/port).")
@click.argument("source", type=click.Choice(SOURCES))
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def sign(config_path: Path, url: str | None, source: str, payload: Path) -> None:
    """Print a `curl` that POSTs PAYLOAD to pmhub, signed as SOURCE would sign it.

    The secret comes from the configuration (the first one listed), so the command
    prints a secret-bearing signature: use it against your own pmhub only.
    """
    settings = load_or_exit(config_path)
    secret = _secret(settings, source)
    if secret is None:
        click.echo(f"pmhub: sources.{source.split('/', maxsplit=1)[0]} is not configured", err=True)
        sys.exit(1)
    body = payload.read_bytes()
    if (problem := check_body(source, body)) is not None:
        click.echo(f"pmhub: {payload}: {problem}", err=True)
        sys.exit(1)
    headers = signed_headers(source, secret, body, utc_now())
    base = url or f"http://{settings.server.host}:{settings.server.port}"
    parts = ["curl", "-sS", "-X", "POST", f"{base.rstrip('/')}/webhooks/{source}"]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-binary", f"@{payload}"]
    click.echo(shlex.join(parts))
