"""`pmhub policy check FILE…`: validate policy files on their own (e.g. in a team's CI)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub.policy import check_policy_files


@click.group()
def policy() -> None:
    """Work with policy files."""


@policy.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check_files(files: tuple[Path, ...]) -> None:
    """Validate policy files together (rule names are unique across them)."""
    problems = check_policy_files(files)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in the policy files.", err=True)
        sys.exit(1)
    for path in files:
        click.echo(f"{path}: OK")
