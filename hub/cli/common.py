"""What every `pmhub` subcommand shares: the --config option, loading, store access."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.config import ConfigError, Settings, load_settings
from hub.config.team_checks import policy_target_problems
from hub.config.types import mask_url_password
from hub.policy import PolicyError, PolicySet, load_policies
from hub.store.db import create_engine

DEFAULT_CONFIG = "config/pmhub.yaml"
# SQLAlchemy's pointer to its error catalogue: noise in a one-line message.
_SQLALCHEMY_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")
T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    envvar="PMHUB_CONFIG",
    help="The pmhub configuration file.",
)


def load_or_exit(config_path: Path) -> Settings:
    """Load and validate the configuration, or print one line per problem and exit 1."""
    return load_all_or_exit(config_path)[0]


def load_all_or_exit(config_path: Path) -> tuple[Settings, PolicySet]:
    """The configuration and every policy file it lists, all valid, or exit 1.

    Every problem is printed, one line each (`file:line:column: …`), configuration
    first; policy files are only read once the configuration itself is valid.
    """
    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        _report([str(problem) for problem in error.problems], "the configuration")
    try:
        policies = load_policies(settings.policies, settings.teams)
    except PolicyError as error:
        _report([str(problem) for problem in error.problems], "the policy files")
    # Issue 15: every target a policy names needs its connector, every team its definition.
    if problems := policy_target_problems(policies, settings.connectors):
        _report([str(problem) for problem in sorted(problems)], "the policy files")
    return settings, policies


def _report(lines: list[str], where: str) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    click.echo(f"{len(lines)} problem(s) in {where}.", err=True)
    sys.exit(1)


def with_store(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` against the configured store; an unreachable store is a message, not a trace."""

    async def run() -> T:
        engine = create_engine(settings.store.url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        where = mask_url_password(settings.store.url)
        click.echo(
            one_line(
                f"pmhub: the store at {where} could not be reached: {type(exc).__name__}: {exc}"
            ),
            err=True,
        )
        sys.exit(1)


def one_line(text: str) -> str:
    """`text` on one line: a person reads one line per failure, a tool splits on newlines
    (SQLAlchemy, for one, appends a "Background on this error" line)."""
    return " ".join(_SQLALCHEMY_BACKGROUND.sub("", text).split())
