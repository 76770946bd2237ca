"""Merging facts: newest wins per field, people sets keep the earliest time, JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from hub.intake.merge import join_people, merge, merge_all
from hub.model.incident import IncidentStatus, Person, Severity, Source
from hub.model.incident_record import IncidentRecord, IncidentUpdate
from hub.model.severity_map import DEFAULT_SEVERITY_MAP, SeverityMap

T1, T2, T3 = (datetime(2024, 5, 1, hour, tzinfo=UTC) for hour in (9, 10, 11))
ANN = Person(pagerduty_id="PANN", name="Ann")


def update(at: datetime, **fields: object) -> IncidentUpdate:
    return IncidentUpdate.of(Source.PAGERDUTY, "P1", at, fields)


def test_first_update_creates_and_a_duplicate_changes_nothing() -> None:
    first = merge(None, update(T1, title="Disk full"))
    assert first.changed
    assert first.record.id == "pagerduty:P1"
    again = merge(first.record, update(T1, title="Disk full"))
    assert not again.changed
    assert again.record == first.record


def test_newer_fact_wins_per_field() -> None:
    record = merge_all(
        None,
        [
            update(T2, title="Newer title", status=IncidentStatus.ACKNOWLEDGED),
            update(T3, severity=Severity.SEV1),
            update(T1, title="Older title", status=IncidentStatus.TRIGGERED, type="db"),
        ],
    )
    assert record is not None
    incident = record.incident
    assert (incident.title, incident.status) == ("Newer title", IncidentStatus.ACKNOWLEDGED)
    assert (incident.severity, incident.type) == (Severity.SEV1, "db")
    assert incident.updated_at == T3


def test_equal_timestamps_settle_the_same_way_in_any_order() -> None:
    a, b = update(T1, title="alpha"), update(T1, title="beta")
    one = merge_all(None, [a, b])
    two = merge_all(None, [b, a])
    assert one == two
    assert one is not None
    assert one.incident.title in {"alpha", "beta"}


def test_an_older_delivery_after_a_newer_one_is_no_change() -> None:
    newer = merge(None, update(T2, title="new")).record
    assert not merge(newer, update(T1, title="old")).changed


def test_people_sets_keep_earliest_time_and_all_identities() -> None:
    def acked(at: datetime, who: Person) -> IncidentUpdate:
        return IncidentUpdate.of(Source.PAGERDUTY, "P1", at, members={"acknowledgers": [(who, at)]})

    record = merge_all(
        None,
        [
            acked(T2, ANN),
            acked(T1, Person(pagerduty_id="PANN", email="ann@example.com")),
            acked(T3, Person(pagerduty_id="PBOB", name="Bob")),
        ],
    )
    assert record is not None
    acks = record.incident.acknowledgers
    assert [(a.person.pagerduty_id, a.at) for a in acks] == [("PANN", T1), ("PBOB", T3)]
    assert acks[0].person == Person(pagerduty_id="PANN", name="Ann", email="ann@example.com")
    assert record.incident.acknowledged_at == T1


def test_join_people_is_order_free() -> None:
    a = Person(pagerduty_id="P", name="Zed", email="z@example.com")
    b = Person(pagerduty_id="P", name="Ann", slack_id="U1")
    assert join_people(a, b) == join_people(b, a)
    assert join_people(a, a) == a


def test_record_json_round_trip() -> None:
    record = merge_all(
        None,
        [
            update(T1, title="x", incident_commander=ANN, **{"links.vendor_url": "https://pd/x"}),
            IncidentUpdate.of(Source.PAGERDUTY, "P1", T2, members={"assignees": [(ANN, T2)]}),
        ],
    )
    assert record is not None
    stored = json.loads(json.dumps(record.to_json()))
    assert stored["incident"]["incident_commander"]["name"] == "Ann"
    restored = IncidentRecord.from_json(stored)
    assert restored == record
    assert restored.incident == record.incident


def test_mismatched_incident_and_unknown_fields_are_refused() -> None:
    record = merge(None, update(T1, title="x")).record
    other = IncidentUpdate.of(Source.PAGERDUTY, "P2", T1, {"title": "y"})
    with pytest.raises(ValueError, match="pagerduty:P2"):
        merge(record, other)
    with pytest.raises(ValidationError):
        update(T1, colour="red")
    with pytest.raises(ValidationError):
        IncidentUpdate.of(Source.PAGERDUTY, "P1", T1, members={"friends": [(ANN, T1)]})


def test_severity_map_defaults_and_names() -> None:
    assert DEFAULT_SEVERITY_MAP.pagerduty("P1", "low") == (Severity.SEV1, "P1")
    assert DEFAULT_SEVERITY_MAP.pagerduty("p5", None) == (Severity.SEV4, "p5")
    assert DEFAULT_SEVERITY_MAP.pagerduty(None, "high") == (Severity.SEV3, "urgency:high")
    assert DEFAULT_SEVERITY_MAP.pagerduty("Sev-2", None) == (Severity.SEV2, "Sev-2")
    assert DEFAULT_SEVERITY_MAP.pagerduty("P9", None) == (Severity.UNKNOWN, "P9")
    assert DEFAULT_SEVERITY_MAP.pagerduty(None, None) == (Severity.UNKNOWN, None)
    assert DEFAULT_SEVERITY_MAP.incident_io("major") == (Severity.SEV2, "major")
    custom = SeverityMap(pagerduty_urgency={"high": Severity.SEV2})
    assert custom.pagerduty(None, "high") == (Severity.SEV2, "urgency:high")
