"""What every `pmhub` subcommand shares: the --config option, loading, store access."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.settings import ConfigError, Settings, load_settings
from hub.store.db import create_engine

DEFAULT_CONFIG = "config/pmhub.yaml"
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
    """Load and validate, or print one line per problem and exit non-zero."""
    try:
        return load_settings(config_path)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(error.problems)} problem(s) in the configuration.", err=True)
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
        click.echo(f"pmhub: the store could not be reached: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
