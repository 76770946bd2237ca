"""`pmhub doctor`: read-only checks against every configured vendor, one line each.

Where `pmhub check` reads the configuration, doctor asks the vendors: is the token
valid, does it have the scopes, can the bot see its channel, does the project exist.
Each connector's `connectors/<vendor>/doctor.py` does its own checks with the client
the daemon uses; this module builds those clients' settings from `pmhub.yaml`, runs
them for the defaults and again for every channel, calendar, project and page a team
or policy routes to (issue 15), and prints one line per finding. Exit 1 on any FAIL.
Nothing here raises: an unreachable vendor or a refused setting is a FAIL line.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import click
from pydantic import BaseModel, ValidationError

from connectors.common.doctor import Finding, fail
from connectors.common.pacer import KeyedPacer
from connectors.google_calendar.config import GoogleCalendarConfig
from connectors.google_calendar.doctor import diagnose as diagnose_calendar
from connectors.incidentio.config import IncidentIoConfig
from connectors.incidentio.doctor import diagnose as diagnose_incidentio
from connectors.jira.config import JiraConfig
from connectors.jira.doctor import diagnose as diagnose_jira
from connectors.pagerduty.config import PagerDutyConfig
from connectors.pagerduty.doctor import diagnose as diagnose_pagerduty
from connectors.slack.config import SlackConfig
from connectors.slack.doctor import diagnose as diagnose_slack
from connectors.statuspage.config import StatuspageConfig
from connectors.statuspage.doctor import diagnose as diagnose_statuspage
from hub.cli.common import config_option, load_all_or_exit
from hub.config import Settings, secret_values
from hub.config.team_checks import TargetCheck, target_checks
from hub.logging import SecretRedactor
from hub.policy import PolicySet

Diagnose = Callable[[Any, aiohttp.ClientSession], Awaitable[list[Finding]]]


@dataclass(frozen=True)
class Vendor:
    """How to check one vendor: where its section is, its client's settings model."""

    name: str  # as printed, and the `connectors:` / `sources:` key
    config: type[BaseModel]
    diagnose: Diagnose
    section: Callable[[Settings], BaseModel | None]


def _source_with_api(name: str, credential: str) -> Callable[[Settings], BaseModel | None]:
    # A source is checked only when it has API credentials: webhooks alone call nothing.
    def section(settings: Settings) -> BaseModel | None:
        found = getattr(settings.sources, name)
        return found if found is not None and getattr(found, credential) is not None else None

    return section


def _connector(name: str) -> Callable[[Settings], BaseModel | None]:
    return lambda settings: getattr(settings.connectors, name)


def vendors(statuspage_pacer: KeyedPacer) -> tuple[Vendor, ...]:
    """Every vendor doctor knows, for one run (`statuspage_pacer`: one per run, since a
    team's page is checked with the same key as the default one)."""
    return (
        Vendor("slack", SlackConfig, diagnose_slack, _connector("slack")),
        Vendor(
            "google_calendar",
            GoogleCalendarConfig,
            diagnose_calendar,
            _connector("google_calendar"),
        ),
        Vendor("jira", JiraConfig, diagnose_jira, _connector("jira")),
        Vendor(
            "pagerduty",
            PagerDutyConfig,
            diagnose_pagerduty,
            _source_with_api("pagerduty", "api_token"),
        ),
        Vendor(
            "incidentio",
            IncidentIoConfig,
            diagnose_incidentio,
            _source_with_api("incidentio", "api_key"),
        ),
        Vendor(
            "statuspage",
            StatuspageConfig,
            functools.partial(diagnose_statuspage, pacer=statuspage_pacer),
            _connector("statuspage"),
        ),
    )


def client_config(section: BaseModel, model: type[BaseModel]) -> BaseModel:
    """The connector's own settings from its `pmhub.yaml` section: the keys both name.

    By name, not by a copy of hub/app.py's wiring: a section that already is the
    connector's model passes through whole, and a key the connector lacks (webhook
    secrets) stays behind.
    """
    if isinstance(section, model):
        return section
    shared = {k: getattr(section, k) for k in type(section).model_fields if k in model.model_fields}
    return model.model_validate(shared)


async def _run_one(
    vendor: Vendor, section: BaseModel, session: aiohttp.ClientSession
) -> list[Finding]:
    try:
        config = client_config(section, vendor.config)
    except ValidationError as exc:
        return [fail(f"settings refused: {error['msg']}") for error in exc.errors()]
    try:
        return await vendor.diagnose(config, session)
    except Exception as exc:  # noqa: BLE001 - doctor prints a line, never a traceback
        return [fail(f"the check itself failed: {type(exc).__name__}: {exc}")]


async def diagnose_all(settings: Settings, policies: PolicySet) -> list[tuple[str, Finding]]:
    """(label, finding) for every configured vendor, then every routed target."""
    results: list[tuple[str, Finding]] = []
    interval = StatuspageConfig.model_fields["min_interval_seconds"].default
    every = vendors(KeyedPacer(interval))
    async with aiohttp.ClientSession() as session:
        seen: dict[str, set[Finding]] = {}
        for vendor in every:
            section = vendor.section(settings)
            if section is not None:
                findings = await _run_one(vendor, section, session)
                seen[vendor.name] = set(findings)
                results += [(vendor.name, finding) for finding in findings]
        by_name = {vendor.name: vendor for vendor in every}
        for check in target_checks(settings, policies):
            routed_vendor = by_name.get(check.connector)
            section = routed_vendor.section(settings) if routed_vendor else None
            if routed_vendor is None or section is None:
                continue  # `pmhub check` (run first, above) reports a missing connector
            routed = section.model_copy(update=dict(check.settings))
            name = routed_vendor.name
            for finding in await _run_one(routed_vendor, routed, session):
                # The token and its scopes were checked with the defaults: say it once.
                if finding not in seen.setdefault(name, set()):
                    seen[name].add(finding)
                    results.append((f"{name} ({check.where})", _from_target(finding, check)))
    return results


def _from_target(finding: Finding, check: TargetCheck) -> Finding:
    """A routed check's FAIL that says "set connectors.jira.project" points at the
    target that named the value instead: that is where to change it."""
    named = [key for key in check.settings if f"connectors.{check.connector}.{key}" in finding.text]
    if finding.ok or not named:
        return finding
    return fail(f"{finding.text} (here: the {', '.join(named)} that {check.where} names)")


def render(label: str, finding: Finding) -> str:
    return f"{'ok  ' if finding.ok else 'FAIL'} {label}: {finding.text}"


@click.command()
@config_option
def doctor(config_path: Path) -> None:
    """Check every configured vendor, read only: one line per check, exit 1 on any FAIL."""
    settings, policies = load_all_or_exit(config_path)
    # A vendor's message may echo what it was sent: no configured secret is printed.
    redactor = SecretRedactor(secret_values(settings))
    results = asyncio.run(diagnose_all(settings, policies))
    if not results:
        click.echo("nothing to check: no connector and no source with API credentials")
    for label, finding in results:
        click.echo(redactor.scrub_text(render(label, finding)))
    failures = sum(1 for _, finding in results if not finding.ok)
    if failures:
        click.echo(f"{failures} problem(s) found.", err=True)
        sys.exit(1)
