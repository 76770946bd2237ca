"""`pmhub policy check FILE…`: validate policy files on their own (e.g. in a team's CI)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub.model.incident import Source
from hub.policy import check_policy_files, load_policies
from hub.policy.coverage import severity_warnings
from hub.policy.shipped import shipped_policies


@click.group()
def policy() -> None:
    """Work with policy files."""


@policy.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--shipped", is_flag=True, help="Check the policies pmhub ships, too.")
def check_files(files: tuple[Path, ...], shipped: bool) -> None:
    """Validate policy files together (rule names are unique across them)."""
    if shipped:
        files = (*files, *shipped_policies())
    if not files:
        raise click.UsageError("name the policy files to check, or pass --shipped")
    problems = check_policy_files(files)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in the policy files.", err=True)
        sys.exit(1)
    # Which sources the files expect: those whose severities they map (else both).
    policies = load_policies(files)
    named: list[Source] = []
    for spec in (policy.spec.severities for policy in policies.policies):
        if spec.pagerduty.priority or spec.pagerduty.urgency:
            named.append(Source.PAGERDUTY)
        if spec.incidentio:
            named.append(Source.INCIDENTIO)
    for warning in severity_warnings(policies, named or list(Source)):
        click.echo(str(warning), err=True)
    for path in files:
        click.echo(f"{path}: OK")
