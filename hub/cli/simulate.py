"""`pmhub simulate`: a dry run of the policy on raw webhook bodies, with no side effects.

Each `SOURCE:EVENTFILE` is a body as the vendor would POST it. The deliveries are
normalised (and, with `--enrich`, completed from the configured vendor APIs, read
only), merged as the daemon merges them, and the policy is evaluated at `--now`.
With `--enrich`, the post-mortem document's contents are previewed too: the incident's
history read (read only) and assembled into its timeline, people and TODO candidates.
Nothing is stored and nothing is sent.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import click

from hub.app import adapter_options, build_sources
from hub.cli.common import config_option, load_all_or_exit
from hub.cli.document_preview import human_lines, preview
from hub.config import Settings, secret_values
from hub.intake.ingest import FactGatherer, Sources
from hub.intake.merge import merge
from hub.logging import configure_logging
from hub.model.incident_record import IncidentRecord
from hub.policy import Plan, PolicySet, evaluate, plan_to_json

SIMULATED_SOURCES = ("pagerduty", "incidentio")


def _event(value: str) -> tuple[str, Path]:
    source, sep, path = value.partition(":")
    if not sep or source not in SIMULATED_SOURCES:
        allowed = ", ".join(SIMULATED_SOURCES)
        raise click.BadParameter(f"{value!r}: expected SOURCE:FILE (allowed sources: {allowed})")
    file = Path(path)
    if not file.is_file():
        raise click.BadParameter(f"{value!r}: no such file {path!r}")
    return source, file


def _now(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset (e.g. 2026-11-22T09:00:00-05:00)")
    return moment


async def _plans(
    settings: Settings,
    policies: PolicySet,
    events: list[tuple[str, Path]],
    now: datetime,
    enrich: bool,
) -> tuple[list[Plan], dict[str, dict[str, Any]]]:
    """The plans, and (with `enrich`) each document's preview by incident id."""
    async with AsyncExitStack() as stack:
        sources = Sources()
        session: aiohttp.ClientSession | None = None
        if enrich:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            sources = await build_sources(settings, session, stack)
        # A dry run has no earlier deliveries: each reads the incident as the API has it now.
        options = adapter_options(policies, settings)
        gatherer = FactGatherer(sources, options, lambda: now, read_every_delivery=True)
        records: dict[str, IncidentRecord] = {}
        for source, path in events:
            facts = await gatherer.gather(source, path.read_bytes())
            for update in facts.updates:
                records[update.incident_id] = merge(records.get(update.incident_id), update).record
        incidents = [r.incident for _, r in sorted(records.items())]
        plans = [evaluate(incident, None, policies, now) for incident in incidents]
        documents: dict[str, dict[str, Any]] = {}
        if session is not None:
            documents = await preview(
                settings, policies, incidents, plans, session=session, stack=stack
            )
    return plans, documents


def _human(plan: Plan) -> list[str]:
    body = plan_to_json(plan)["postmortem"]
    required = {True: "required", False: "not required", "optional": "optional"}[plan.required]
    lines = [
        f"{plan.incident_id}  {plan.severity.value}  {plan.incident_status.value}",
        f"  post-mortem: {required} (rule: {plan.rule or 'none'})",
    ]
    if owner := body["owner"]:
        who = owner["name"] or owner["email"] or "someone"
        lines.append(f"  owner: {who} <{owner['email'] or 'no email'}> (by {owner['reason']})")
    if meeting := body["meeting"]:
        lines.append(
            f"  meeting: {meeting['duration_minutes']} min on {meeting['calendar']!r}, "
            f"not before {meeting['not_before']}, ending by {meeting['deadline']}"
        )
        lines.append(f"    invitees: {', '.join(meeting['invitees']) or 'nobody resolved'}")
        if meeting["unresolved_roles"]:
            lines.append(f"    nobody found for: {', '.join(meeting['unresolved_roles'])}")
    for intent in body["intents"]:
        when = f"at {intent['due_at']}" if intent["due_at"] else "now"
        lines.append(f"  - {intent['kind']} {when}: {intent['reason']}  [{intent['key']}]")
    lines += [f"  ! {problem}" for problem in body["problems"]]
    lines += [f"  · {note}" for note in body["notes"]]
    return lines


@click.command()
@config_option
@click.option("--now", "now_text", required=True, help="Evaluate at this ISO 8601 time.")
@click.option("--json", "as_json", is_flag=True, help="Print the plans as JSON.")
@click.option(
    "--enrich",
    is_flag=True,
    help="Read the configured vendor APIs (read only); preview the post-mortem document's "
    "timeline, people and TODO candidates.",
)
@click.argument("events", nargs=-1, required=True)
def simulate(
    config_path: Path, now_text: str, as_json: bool, enrich: bool, events: tuple[str, ...]
) -> None:
    """Dry-run the policies on webhook bodies: SOURCE:EVENTFILE… (pagerduty, incidentio)."""
    now = _now(now_text)
    parsed = [_event(value) for value in events]
    settings, policies = load_all_or_exit(config_path)
    # Diagnostics go to stderr so that `--json` output stays machine-readable.
    configure_logging(level="warning", fmt="console", secrets=secret_values(settings))
    plans, documents = asyncio.run(_plans(settings, policies, parsed, now, enrich))
    if as_json:
        output: dict[str, Any] = {
            "now": now.isoformat(),
            "incidents": [_with_document(plan_to_json(plan), documents) for plan in plans],
        }
        click.echo(json.dumps(output, indent=2))
        return
    if not plans:
        click.echo("no incident in these deliveries", err=True)
        sys.exit(1)
    click.echo(f"Plan at {now.isoformat()}:")
    for plan in plans:
        click.echo("\n".join(_human(plan)))
        if plan.incident_id in documents:
            click.echo("\n".join(human_lines(documents[plan.incident_id])))


def _with_document(plan: dict[str, Any], documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`--enrich`: the document's preview beside the plan (absent otherwise)."""
    if plan["id"] in documents:
        plan["postmortem"]["document"] = documents[plan["id"]]
    return plan
