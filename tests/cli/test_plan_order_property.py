"""Property: the same deliveries in any order, with any duplicates, give the same plan.

The whole pure path a dry run takes: adapters → merge → policy evaluation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.intake.adapters import AdapterOptions, parse_delivery
from hub.intake.merge import merge
from hub.model.incident_record import IncidentRecord, IncidentUpdate
from hub.policy import evaluate, load_policies

ROOT = Path(__file__).parents[2]
POLICIES = load_policies([ROOT / "config" / "policies" / "pagerduty-process.yaml"])
OPTIONS = AdapterOptions(severity_map=POLICIES.severity_map())
SEQUENCE = [
    (ROOT / "tests" / "fixtures" / "simulate" / f"pagerduty_incident.{name}.json").read_bytes()
    for name in ("triggered", "acknowledged", "resolved")
]
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _plan_of(bodies: list[bytes]) -> object:
    record: IncidentRecord | None = None
    for body in bodies:
        for result in parse_delivery("pagerduty", body, OPTIONS):
            assert isinstance(result, IncidentUpdate)
            record = merge(record, result).record
    assert record is not None
    return evaluate(record.incident, None, POLICIES, NOW)


EXPECTED = _plan_of(SEQUENCE)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(range(len(SEQUENCE))), min_size=len(SEQUENCE), max_size=9)
    .filter(lambda picks: set(picks) == set(range(len(SEQUENCE))))
    .flatmap(st.permutations)
)
def test_any_order_with_duplicates_gives_the_same_plan(order: list[int]) -> None:
    assert _plan_of([SEQUENCE[i] for i in order]) == EXPECTED
