"""Golden tests of `pmhub simulate --json` on vendor example payloads and a full sequence.

Regenerate after an intended change with `PMHUB_UPDATE_GOLDEN=1 pytest tests/cli/test_simulate.py`
and review the diff: each golden file is a plan a person can check.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures"
GOLDEN = Path(__file__).parents[1] / "golden"
CONFIG = FIXTURES / "simulate" / "pmhub.yaml"
NOW = "2026-11-20T10:00:00-05:00"
PD_EXAMPLES = FIXTURES / "pagerduty_webhook_examples"
PD_EXAMPLE = "envelope_incident.priority_updated.json"
IO_EXAMPLES = FIXTURES / "incidentio_webhook_examples"
PD_SEQUENCE = [
    f"pagerduty:{FIXTURES / 'simulate' / f'pagerduty_incident.{name}.json'}"
    for name in ("triggered", "acknowledged", "resolved")
]
CASES = {
    "pagerduty_sequence": PD_SEQUENCE,
    "pagerduty_priority_updated_example": [f"pagerduty:{PD_EXAMPLES / PD_EXAMPLE}"],
    **{
        f"incidentio_{name}": [f"incidentio:{IO_EXAMPLES / f'public_incident.{name}.json'}"]
        for name in ("incident_created_v2", "incident_updated_v2", "incident_status_updated_v2")
    },
}


def _simulate(events: list[str]) -> dict[str, object]:
    result = CliRunner().invoke(
        main, ["simulate", "--config", str(CONFIG), "--now", NOW, "--json", *events]
    )
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize("case", sorted(CASES))
def test_simulate_json_matches_golden(case: str) -> None:
    document = _simulate(CASES[case])
    golden = GOLDEN / f"simulate_{case}.json"
    if os.environ.get("PMHUB_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(document, indent=2) + "\n")
    assert document == json.loads(golden.read_text())


def test_delivery_order_does_not_change_the_plan() -> None:
    shuffled = PD_SEQUENCE * 2
    random.Random(7).shuffle(shuffled)
    assert _simulate(shuffled) == _simulate(PD_SEQUENCE)


def test_sev1_resolved_plan_reads_like_the_process() -> None:
    incidents = _simulate(PD_SEQUENCE)["incidents"]
    assert isinstance(incidents, list)
    [incident] = incidents
    postmortem = incident["postmortem"]
    assert postmortem["required"] is True
    assert postmortem["rule"] == "major"
    # Resolved Thu 2026-11-19 14:05 New York time: SEV-1 is due 3 calendar days later.
    assert postmortem["meeting"]["deadline"] == "2026-11-22T14:05:00-05:00"
    kinds = {intent["kind"] for intent in postmortem["intents"]}
    assert {"create_postmortem", "notify_owner", "schedule_meeting"} <= kinds


def test_human_output_names_owner_meeting_and_intents() -> None:
    result = CliRunner().invoke(
        main, ["simulate", "--config", str(CONFIG), "--now", NOW, *PD_SEQUENCE]
    )
    assert result.exit_code == 0, result.output
    assert "post-mortem: required (rule: major)" in result.stdout
    assert "meeting: 30 min on 'Incident Post-Mortem Meetings'" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--now", "yesterday", "pagerduty:x.json"], "ISO 8601"),
        (["--now", "2026-11-20T10:00:00", "pagerduty:x.json"], "UTC offset"),
        (["--now", NOW, "opsgenie:x.json"], "allowed sources: pagerduty, incidentio"),
        (["--now", NOW, "pagerduty:/nonexistent.json"], "no such file"),
    ],
)
def test_bad_arguments_are_named(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(main, ["simulate", "--config", str(CONFIG), *args])
    assert result.exit_code == 2
    assert needle in result.output
