"""The `pmhub` command: serve, check, doctor, schema, migrate, jobs."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli.common import (
    config_option,
    load_all_or_exit,
    load_or_exit,
    one_line,
    with_store,
)
from hub.config import settings_json_schema
from hub.model.incident import Source
from hub.policy import policy_json_schema
from hub.policy.coverage import severity_warnings
from hub.store.migrate import head_revision, upgrade


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


class LazyGroup(OneLineErrors):
    """A group whose subcommands are imported when one is run (click's documented lazy
    loading): `pmhub check` or `pmhub migrate` then does not import the whole daemon
    (hub.app, every connector's client), which is most of a CLI process's start-up."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module, attribute = self.lazy[cmd_name].split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}:{attribute} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy={
        name: f"{module}:{name}"
        for name, module in {
            "serve": "hub.cli.serve",
            "jobs": "hub.cli.jobs",
            "policy": "hub.cli.policy",
            "simulate": "hub.cli.simulate",
            "sign": "hub.cli.sign",
            "demo": "hub.demo.command",
            "report": "hub.cli.report",
            "doctor": "hub.cli.doctor",
        }.items()
    },
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="pmhub")
def main() -> None:
    """pmhub: the incident post-mortem process, done by a daemon."""


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
