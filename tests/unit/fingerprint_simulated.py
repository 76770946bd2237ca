"""The golden `pmhub simulate` cases, as plans whose intents' fingerprints are pinned
(tests/unit/test_intent_fingerprints.py): real vendor deliveries through the adapters."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from hub.app import adapter_options
from hub.config import load_settings
from hub.intake.ingest import FactGatherer, Sources
from hub.intake.merge import merge
from hub.model.incident import IncidentStatus, Severity
from hub.model.incident_record import IncidentRecord
from hub.policy import Plan, PolicySet, evaluate

FIXTURES = Path(__file__).parents[1] / "fixtures"
SIMULATE_CONFIG = FIXTURES / "simulate" / "pmhub.yaml"
SIMULATE_NOW = datetime.fromisoformat("2026-11-20T10:00:00-05:00")
PD_EXAMPLES = FIXTURES / "pagerduty_webhook_examples"
IO_EXAMPLES = FIXTURES / "incidentio_webhook_examples"
# The deliveries of the golden `pmhub simulate` cases (tests/cli/test_simulate.py).
SIMULATE_CASES: dict[str, list[tuple[str, Path]]] = {
    "pagerduty_sequence": [
        ("pagerduty", FIXTURES / "simulate" / f"pagerduty_incident.{name}.json")
        for name in ("triggered", "acknowledged", "resolved")
    ],
    "pagerduty_priority_updated_example": [
        ("pagerduty", PD_EXAMPLES / "envelope_incident.priority_updated.json")
    ],
    **{
        f"incidentio_{name}": [("incidentio", IO_EXAMPLES / f"public_incident.{name}.json")]
        for name in ("incident_created_v2", "incident_updated_v2", "incident_status_updated_v2")
    },
}


async def simulated_plans(policies: PolicySet, case: str) -> list[Plan]:
    """The plans `pmhub simulate` makes of a golden case's deliveries, and of each of its
    incidents again as a SEV-1 resolved an hour ago."""
    settings = load_settings(SIMULATE_CONFIG)
    gatherer = FactGatherer(Sources(), adapter_options(policies, settings), lambda: SIMULATE_NOW)
    records: dict[str, IncidentRecord] = {}
    for source, path in SIMULATE_CASES[case]:
        facts = await gatherer.gather(source, path.read_bytes())
        for update in facts.updates:
            records[update.incident_id] = merge(records.get(update.incident_id), update).record
    incidents = [record.incident for _, record in sorted(records.items())]
    # Each also as a SEV-1 resolved an hour ago: the people the vendors name (with
    # their vendor and Slack ids) then appear in every kind of first intent.
    major = [
        i.model_copy(
            update={
                "severity": Severity.SEV1,
                "status": IncidentStatus.RESOLVED,
                "resolved_at": i.resolved_at or SIMULATE_NOW - timedelta(hours=1),
            }
        )
        for i in incidents
    ]
    return [evaluate(i, None, policies, SIMULATE_NOW) for i in incidents + major]
