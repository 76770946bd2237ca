"""PagerDuty: every published example parses; incident examples normalise to known values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.intake.adapters import AdapterOptions, Ignored, parse_delivery
from hub.intake.adapters.pagerduty import PagerDutyOptions, parse_webhook
from hub.intake.adapters.pagerduty_rest import (
    incident_update,
    log_entry_updates,
    people_to_look_up,
    primary_oncall_update,
    user_update,
)
from hub.intake.merge import merge, merge_all
from hub.model.incident import Incident, IncidentStatus, Person, ServiceRef, Severity, TeamRef
from hub.model.incident_record import IncidentUpdate
from tests.intake.helpers import PD_EXAMPLES, PD_REST, load, pd_envelope

AGENT = {"id": "PLH1HKV", "type": "user_reference", "summary": "Tenex Engineer"}
# The event type PagerDuty sends each example `event.data` with.
DATA_EVENTS = {
    "data_incident.json": "incident.triggered",
    "data_incident_action_invocation.json": "incident.action_invocation.created",
    "data_incident_conference_bridge.json": "incident.conference_bridge.updated",
    "data_incident_field_values.json": "incident.custom_field_values.updated",
    "data_incident_note.json": "incident.annotated",
    "data_incident_responder.json": "incident.responder.added",
    "data_incident_role_assignment.json": "incident.role.assigned",
    "data_incident_status_update.json": "incident.status_update_published",
    "data_incident_task.json": "incident.task.created",
    "data_incident_workflow_instance.json": "incident.workflow.started",
    "data_service.json": "service.updated",
    "data_service_field_values.json": "service.custom_field_values.updated",
}
EXPECTED_KIND = {
    "data_incident.json": "IncidentUpdate",
    "data_incident_conference_bridge.json": "IncidentUpdate",
    "data_incident_field_values.json": "IncidentUpdate",
    "data_incident_role_assignment.json": "IncidentUpdate",
    "envelope_incident.priority_updated.json": "IncidentUpdate",
}


def body_for(name: str) -> bytes:
    document = load(PD_EXAMPLES / name)
    if name in DATA_EVENTS:
        document = pd_envelope(document, DATA_EVENTS[name], agent=AGENT)
    return json.dumps(document).encode()


def incident_of(*updates: IncidentUpdate) -> Incident:
    record = merge_all(None, list(updates))
    assert record is not None
    return record.incident


def only_update(results: tuple[object, ...]) -> IncidentUpdate:
    assert len(results) == 1
    assert isinstance(results[0], IncidentUpdate)
    return results[0]


def test_every_example_file_is_covered() -> None:
    names = {path.name for path in PD_EXAMPLES.glob("*.json")}
    assert len(names) == 15
    assert names - set(DATA_EVENTS) == {
        "create_webhook_subscription_request.json",
        "envelope_incident.priority_updated.json",
        "envelope_service.updated.json",
    }


@pytest.mark.parametrize("name", sorted(p.name for p in PD_EXAMPLES.glob("*.json")))
def test_every_example_parses(name: str) -> None:
    results = parse_delivery("pagerduty", body_for(name))
    kinds = {type(result).__name__ for result in results}
    assert kinds == {EXPECTED_KIND.get(name, "Ignored")}
    for result in results:
        if isinstance(result, IncidentUpdate):
            merge(None, result)  # and every update merges into a valid incident


def test_priority_updated_envelope_normalises() -> None:
    update = only_update(
        parse_delivery("pagerduty", body_for("envelope_incident.priority_updated.json"))
    )
    incident = incident_of(update)
    assert incident.id == "pagerduty:PGR0VU2"
    assert incident.reference == "PD-2"
    assert incident.title == "A little bump in the road"
    assert (incident.severity, incident.severity_source) == (Severity.SEV1, "P1")
    assert incident.status is IncidentStatus.TRIGGERED
    assert incident.created_at == datetime(2020, 4, 9, 15, 16, 27, tzinfo=UTC)
    assert incident.updated_at == datetime(2020, 10, 2, 18, 45, 22, 169000, tzinfo=UTC)
    assert incident.services == (ServiceRef(id="PF9KMXH", name="API Service"),)
    assert incident.teams == (TeamRef(id="PFCVPS0", name="Engineering"),)
    assert incident.escalation_policy_id == "PUS0KTE"
    assert incident.assignees == (Person(pagerduty_id="PTUXL6G", name="User 123"),)
    assert incident.links.vendor_url == "https://acme.pagerduty.com/incidents/PGR0VU2"
    assert incident.links.conference_url == "https://example.com"
    assert incident.manual_trigger is None
    assert incident.incident_commander is None
    assert not incident.false_positive


def test_triggered_by_a_person_is_a_manual_trigger_and_type_is_kept() -> None:
    incident = incident_of(only_update(parse_delivery("pagerduty", body_for("data_incident.json"))))
    assert incident.manual_trigger == Person(pagerduty_id="PLH1HKV", name="Tenex Engineer")
    assert incident.type == "major"


def test_acknowledge_then_resolve_then_reopen() -> None:
    data = load(PD_EXAMPLES / "data_incident.json")
    events = [
        ("incident.acknowledged", "2020-10-02T19:00:00Z", {**data, "status": "acknowledged"}),
        ("incident.resolved", "2020-10-02T20:00:00Z", {**data, "status": "resolved"}),
    ]
    updates = [
        only_update(parse_webhook(pd_envelope(d, kind, agent=AGENT, occurred_at=at)))
        for kind, at, d in events
    ]
    resolved = incident_of(*updates)
    assert resolved.status is IncidentStatus.RESOLVED
    assert resolved.resolved_at == datetime(2020, 10, 2, 20, tzinfo=UTC)
    assert resolved.acknowledged_at == datetime(2020, 10, 2, 19, tzinfo=UTC)
    # No commander role: the first acknowledger stands in.
    assert resolved.incident_commander == Person(pagerduty_id="PLH1HKV", name="Tenex Engineer")
    reopen = pd_envelope(data, "incident.reopened", occurred_at="2020-10-02T21:00:00Z")
    reopened = incident_of(*updates, only_update(parse_webhook(reopen)))
    assert (reopened.status, reopened.resolved_at) == (IncidentStatus.TRIGGERED, None)
    assert reopened.acknowledgers == resolved.acknowledgers  # history is kept


def test_no_priority_falls_back_to_urgency() -> None:
    data = {**load(PD_EXAMPLES / "data_incident.json"), "priority": None, "urgency": "low"}
    incident = incident_of(only_update(parse_webhook(pd_envelope(data, "incident.triggered"))))
    assert (incident.severity, incident.severity_source) == (Severity.SEV4, "urgency:low")


def test_merged_incident_is_declined_not_false_positive() -> None:
    data = {
        **load(PD_EXAMPLES / "data_incident.json"),
        "status": "resolved",
        "resolve_reason": {"type": "merge_resolve_reason", "incident": {"id": "PX"}},
    }
    incident = incident_of(only_update(parse_webhook(pd_envelope(data, "incident.resolved"))))
    assert incident.status is IncidentStatus.DECLINED
    assert not incident.false_positive


def test_false_positive_by_type_or_note() -> None:
    data = {**load(PD_EXAMPLES / "data_incident.json"), "incident_type": {"name": "False Positive"}}
    by_type = incident_of(only_update(parse_webhook(pd_envelope(data, "incident.triggered"))))
    assert by_type.false_positive
    note = {
        **load(PD_EXAMPLES / "data_incident_note.json"),
        "content": "False positive: flaky probe",
    }
    by_note = only_update(parse_webhook(pd_envelope(note, "incident.annotated")))
    assert by_note.incident_id == "pagerduty:PGR0VU2"
    assert incident_of(by_note).false_positive
    negated = {**note, "content": "not a false positive, real outage"}
    assert isinstance(parse_webhook(pd_envelope(negated, "incident.annotated"))[0], Ignored)


def test_role_assignment_and_configurable_commander() -> None:
    body = body_for("data_incident_role_assignment.json")
    default = incident_of(only_update(parse_delivery("pagerduty", body)))
    holder = Person(pagerduty_id="P75B6QD", name="User 1810194")
    assert default.id == "pagerduty:PBAZLIU"
    assert default.role("Role Display Name") == holder
    assert default.incident_commander is None
    options = AdapterOptions(pagerduty=PagerDutyOptions(commander_role="role display  NAME"))
    configured = incident_of(only_update(parse_delivery("pagerduty", body, options)))
    assert configured.incident_commander == holder


def test_role_unassigned_later_clears_it() -> None:
    data = load(PD_EXAMPLES / "data_incident_role_assignment.json")
    cleared = json.loads(json.dumps(data))
    cleared["incident_role_assignments"][0]["assignee"] = None
    assigned = only_update(parse_webhook(pd_envelope(data, "incident.role.assigned")))
    later = pd_envelope(cleared, "incident.role.assigned", occurred_at="2020-10-03T00:00:00Z")
    incident = incident_of(only_update(parse_webhook(later)), assigned)
    assert incident.roles == ()


def test_field_values_and_bridge() -> None:
    fields = incident_of(
        only_update(parse_delivery("pagerduty", body_for("data_incident_field_values.json")))
    )
    assert fields.custom_fields == {"environment": "production", "region": "US"}
    bridge = incident_of(
        only_update(parse_delivery("pagerduty", body_for("data_incident_conference_bridge.json")))
    )
    assert bridge.links.conference_url == "https://example.com"


def test_responder_joined_counts_pending_does_not() -> None:
    data = load(PD_EXAMPLES / "data_incident_responder.json")
    assert isinstance(parse_webhook(pd_envelope(data, "incident.responder.added"))[0], Ignored)
    joined = pd_envelope({**data, "state": "joined"}, "incident.responder.replied")
    incident = incident_of(only_update(parse_webhook(joined)))
    assert [r.person.pagerduty_id for r in incident.responders] == ["PVMGSML"]


def test_rest_incident_log_entries_user_and_oncall() -> None:
    rest = load(PD_REST / "get_incident.json")["incident"]
    update = incident_update(rest)
    assert update is not None
    incident = incident_of(update)
    earline = Person(pagerduty_id="PXPGF42", name="Earline Greenholt")
    assert (incident.id, incident.reference) == ("pagerduty:PT4KHLK", "PD-1234")
    assert (incident.severity, incident.status) == (Severity.SEV2, IncidentStatus.ACKNOWLEDGED)
    assert incident.acknowledgers[0].person == earline
    assert incident.acknowledged_at == datetime(2015, 11, 10, 0, 32, 52, tzinfo=UTC)
    assert incident.assignees == (earline,)
    assert incident.incident_commander == earline
    assert incident.responders == ()  # the example's responder request is still pending
    assert incident.links.conference_url == "https://example.com/acb-123"
    assert people_to_look_up(incident) == ("PXPGF42",)

    at = datetime(2015, 11, 11, tzinfo=UTC)
    user = user_update("PT4KHLK", load(PD_REST / "get_user.json")["user"], at)
    oncall = load(PD_REST / "list_oncalls.json")["oncalls"][0]
    primary = primary_oncall_update("PT4KHLK", oncall, at)
    assert user is not None
    assert primary is not None
    enriched = incident_of(update, user, primary)
    assert enriched.incident_commander is not None
    assert enriched.incident_commander.email == "125.greenholt.earline@graham.name"
    assert enriched.acknowledgers[0].person.email == "125.greenholt.earline@graham.name"
    assert enriched.primary_oncall == Person(pagerduty_id="PT23IWX", name="Tim Wright")
    # A user look-up is not news about the incident; the on-call fact is.
    assert incident_of(update, user).updated_at == incident.updated_at
    assert enriched.updated_at == at
    assert people_to_look_up(enriched) == ("PT23IWX",)


def test_log_entries() -> None:
    entries: list[dict[str, Any]] = load(PD_REST / "list_log_entries.json")["log_entries"]
    assert log_entry_updates("PT4KHLK", entries) == ()  # triggered by a service: nothing to say
    user = {"id": "PU1", "type": "user_reference", "summary": "Ann"}
    synthetic: list[dict[str, Any]] = [
        {"type": "trigger_log_entry", "created_at": "2024-05-01T10:00:00Z", "agent": user},
        {"type": "acknowledge_log_entry", "created_at": "2024-05-01T10:05:00Z", "agent": user},
        {"type": "assign_log_entry", "created_at": "2024-05-01T10:01:00Z", "assignees": [user]},
        {
            "type": "resolve_log_entry",
            "created_at": "2024-05-01T11:00:00Z",
            "agent": user,
            "note": "#false-positive probe misfired",
        },
        {"type": "notify_log_entry", "created_at": "2024-05-01T10:02:00Z"},
        {"type": "acknowledge_log_entry", "agent": user},  # no time: skipped
    ]
    incident = incident_of(*log_entry_updates("PT4KHLK", synthetic))
    ann = Person(pagerduty_id="PU1", name="Ann")
    assert incident.manual_trigger == ann
    assert incident.acknowledged_at == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    assert incident.assignees == (ann,)
    assert incident.resolved_at == datetime(2024, 5, 1, 11, tzinfo=UTC)
    assert incident.false_positive


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"{}",
        b'{"event": {"event_type": "pagey.ping"}}',
        b'{"event": {"event_type": "incident.triggered", "data": {"type": "incident"}}}',
        b'{"event": {"event_type": "incident.triggered", "data": []}}',
    ],
)
def test_odd_bodies_are_ignored(body: bytes) -> None:
    assert all(isinstance(result, Ignored) for result in parse_delivery("pagerduty", body))
