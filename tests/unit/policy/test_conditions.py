"""`when`: which incidents a rule applies to."""

from __future__ import annotations

from typing import Any

import pytest

from hub.model.incident import ServiceRef, Severity, Source, TeamRef
from hub.policy.conditions import matches
from hub.policy.schema import Condition

from .factories import incident

INC = incident(
    severity=Severity.SEV2,
    services=(ServiceRef(id="PSVC1", name="API"),),
    teams=(TeamRef(id="PT1", name="Payments"),),
    type="Security",
    custom_fields={"Affected product": "Ingestion"},
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({}, True),
        ({"severity": ["SEV-1", "SEV-2"]}, True),
        ({"severity": "SEV-1"}, False),
        ({"source": ["incidentio"]}, False),
        ({"source": "pagerduty"}, True),
        ({"service": ["api"]}, True),  # by name, any case
        ({"service": ["PSVC1"]}, True),  # by id
        ({"team": ["Infra"]}, False),
        ({"type": "security"}, True),
        ({"false_positive": True}, False),
        ({"full_outage": False}, True),
        ({"custom_fields": {"affected product": ["Ingestion", "Flags"]}}, True),
        ({"custom_fields": {"Region": "EU"}}, False),
        ({"severity": ["SEV-2"], "team": ["Payments"]}, True),  # keys are ANDed
        ({"severity": ["SEV-2"], "team": ["Infra"]}, False),
        ({"any": [{"team": ["Infra"]}, {"service": ["API"]}]}, True),
        ({"all": [{"team": ["Infra"]}, {"service": ["API"]}]}, False),
        ({"not": {"false_positive": True}}, True),
        ({"not": {"severity": ["SEV-2"]}}, False),
    ],
)
def test_matches(when: dict[str, Any], expected: bool) -> None:
    assert matches(Condition.model_validate(when), INC) is expected


def test_source_enum() -> None:
    assert Condition.model_validate({"source": "incidentio"}).source == [Source.INCIDENTIO]
