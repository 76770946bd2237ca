"""incident.io: every published webhook example parses; incidents normalise to known values."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.intake.adapters import Ignored, RefetchRequest, parse_delivery
from hub.intake.adapters.incidentio import document_status, incident_update, parse_webhook
from hub.intake.merge import merge
from hub.model.followup_event import FollowUpFact, FollowUpStatus
from hub.model.incident import Incident, IncidentStatus, Person, Severity, Source, TeamRef
from hub.model.incident_record import IncidentUpdate
from hub.model.vendor_status import VendorPostmortemStatus, VendorStatusFact
from tests.intake.helpers import IO_EXAMPLES, IO_REST, load

LISA = Person(
    email="lisa@incident.io",
    name="Lisa Karlin Curtis",
    incidentio_id="01FCNDV6P870EA6S7TK1DSYDG0",
    slack_id="U02AYNF2XJM",
)
T0 = datetime(2021, 8, 17, 13, 28, 57, 801578, tzinfo=UTC)
INCIDENT_EVENTS = {
    "public_incident.incident_created_v2",
    "public_incident.incident_updated_v2",
    "public_incident.incident_status_updated_v2",
}
FOLLOW_UPS = {
    f"public_incident.follow_up_{v}_{n}" for v in ("created", "updated") for n in ["v1", "v2"]
}
REFETCH = {
    f"private_incident.{name}"
    for name in (
        "incident_created_v2",
        "incident_updated_v2",
        "follow_up_created_v1",
        "follow_up_created_v2",
        "follow_up_updated_v1",
        "follow_up_updated_v2",
        "postmortem_document_status_updated_v1",
    )
}
# Issue 13: a membership makes a responder; a post-mortem status is a fact, and the
# incident is re-read with it.
DOCUMENT_EVENT = "public_incident.postmortem_document_status_updated_v1"
MEMBERSHIP = "private_incident.membership_granted_v1"


def expected_kind(event_type: str) -> type:
    if event_type in INCIDENT_EVENTS or event_type == MEMBERSHIP:
        return IncidentUpdate
    if event_type == DOCUMENT_EVENT:
        return VendorStatusFact
    if event_type in FOLLOW_UPS:
        return FollowUpFact
    if event_type in REFETCH:
        return RefetchRequest
    return Ignored


def example(event_type: str) -> dict[str, Any]:
    document: dict[str, Any] = load(IO_EXAMPLES / f"{event_type}.json")
    return document


def incident_from(document: object) -> Incident:
    results = parse_webhook(document)
    assert len(results) == 1
    assert isinstance(results[0], IncidentUpdate)
    return merge(None, results[0]).record.incident


def test_all_34_examples_present() -> None:
    assert len(list(IO_EXAMPLES.glob("*.json"))) == 34


@pytest.mark.parametrize("path", sorted(IO_EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_parses(path: Any) -> None:
    results = parse_delivery("incidentio", path.read_bytes())
    assert len(results) == (2 if path.stem == DOCUMENT_EVENT else 1)
    assert isinstance(results[0], expected_kind(path.stem))
    assert path.stem == load(path)["event_type"]


def assert_example_incident(incident: Incident) -> None:
    assert incident.id == "incidentio:01FDAG4SAP5TYPT98WGR2N7W91"
    assert incident.source is Source.INCIDENTIO
    assert incident.reference == "INC-123"
    assert incident.title == "Our database is sad"
    assert (incident.severity, incident.severity_source) == (Severity.SEV3, "Minor")
    assert incident.status is IncidentStatus.TRIGGERED  # category "triage"
    assert incident.created_at == T0
    assert incident.updated_at == T0
    assert incident.resolved_at is None
    assert incident.acknowledged_at is None
    assert incident.teams == (TeamRef(id="01JPQA75EPNEES4479P16P4XAB"),)
    assert incident.type == "Production Outage"
    assert incident.custom_fields == {"Affected Team": "Product"}
    assert incident.incident_commander == LISA
    assert incident.role("Incident Lead") == LISA
    assert incident.reporter is None
    assert incident.manual_trigger is None  # created from an alert
    assert not incident.false_positive
    links = incident.links
    assert links.vendor_url == "https://app.incident.io/incidents/123"
    assert (links.slack_channel_id, links.slack_channel_name) == (
        "C02AW36C1M5",
        "inc-165-green-parrot",
    )
    assert links.conference_url == "https://zoom.us/foo"
    assert links.postmortem_document_url == "https://docs.google.com/my_doc_id"


@pytest.mark.parametrize("event_type", sorted(INCIDENT_EVENTS))
def test_incident_examples_normalise(event_type: str) -> None:
    assert_example_incident(incident_from(example(event_type)))


def test_api_answer_is_the_same_incident() -> None:
    update = incident_update(load(IO_REST / "get_incident_v2.json")["incident"])
    assert update is not None
    assert_example_incident(merge(None, update).record.incident)


def variant(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(example("public_incident.incident_updated_v2"))
    document["public_incident.incident_updated_v2"].update(changes)
    return document


def stamp(name: str, value: str) -> dict[str, Any]:
    return {"incident_timestamp": {"id": name, "name": name, "rank": 1}, "value": {"value": value}}


def status(category: str) -> dict[str, Any]:
    return {"category": category, "id": category, "name": category.title()}


@pytest.mark.parametrize(
    ("category", "expected", "false_positive"),
    [
        ("live", IncidentStatus.ACKNOWLEDGED, False),
        ("paused", IncidentStatus.ACKNOWLEDGED, False),
        ("learning", IncidentStatus.RESOLVED, False),
        ("closed", IncidentStatus.CLOSED, False),
        ("declined", IncidentStatus.DECLINED, True),
        ("canceled", IncidentStatus.DECLINED, True),
        # A duplicate, not a false positive: the incident it joined has the post-mortem.
        ("merged", IncidentStatus.DECLINED, False),
    ],
)
def test_status_categories(category: str, expected: IncidentStatus, false_positive: bool) -> None:
    incident = incident_from(variant(incident_status=status(category)))
    assert (incident.status, incident.false_positive) == (expected, false_positive)


def test_lifecycle_timestamps() -> None:
    stamps = [
        stamp("Accepted at", "2021-08-17T13:30:00Z"),
        stamp("Fixed at", "2021-08-17T14:00:00Z"),
        stamp("Resolved at", "2021-08-17T15:00:00Z"),
    ]
    closed = incident_from(
        variant(incident_status=status("closed"), incident_timestamp_values=stamps)
    )
    assert closed.acknowledged_at == datetime(2021, 8, 17, 13, 30, tzinfo=UTC)
    assert closed.resolved_at == datetime(2021, 8, 17, 15, tzinfo=UTC)
    learning = incident_from(
        variant(incident_status=status("learning"), incident_timestamp_values=stamps[:2])
    )
    assert learning.resolved_at == datetime(2021, 8, 17, 14, tzinfo=UTC)  # "Fixed at"
    live = incident_from(variant(incident_status=status("live"), incident_timestamp_values=stamps))
    assert live.resolved_at is None  # reopened: an old resolution no longer counts


def test_manual_creator_reporter_and_severity_names() -> None:
    reporter_role = {"name": "Reporter", "role_type": "reporter", "id": "r"}
    document = variant(
        creator={"user": {"id": "U9", "name": "Max", "email": "max@example.com"}},
        severity={"name": "Critical"},
        incident_role_assignments=[
            {"assignee": {"id": "U9", "name": "Max"}, "role": reporter_role},
            {"role": {"name": "Incident Lead", "role_type": "lead", "id": "l"}},
        ],
    )
    incident = incident_from(document)
    max_ = Person(incidentio_id="U9", name="Max", email="max@example.com")
    assert incident.manual_trigger == max_
    assert incident.reporter == Person(incidentio_id="U9", name="Max")
    assert incident.incident_commander is None  # the lead role is unassigned
    assert incident.severity is Severity.SEV1
    assert incident_from(variant(severity={"name": "SEV 2"})).severity is Severity.SEV2
    odd = incident_from(variant(severity={"name": "Apocalyptic"}))
    assert (odd.severity, odd.severity_source) == (Severity.UNKNOWN, "Apocalyptic")


def test_out_of_order_snapshots_converge_on_the_newest() -> None:
    old = parse_webhook(variant(name="Old name"))[0]
    new = parse_webhook(variant(name="New name", updated_at="2021-08-17T15:00:00Z"))[0]
    assert isinstance(old, IncidentUpdate)
    assert isinstance(new, IncidentUpdate)
    forward = merge(merge(None, old).record, new).record
    backward = merge(merge(None, new).record, old)
    assert backward.record == forward
    assert not backward.changed
    assert forward.incident.title == "New name"


def test_follow_ups() -> None:
    v2 = parse_webhook(example("public_incident.follow_up_created_v2"))[0]
    assert v2 == FollowUpFact(
        source="incidentio",
        external_id="01FCNDV6P870EA6S7TK1DSYDG0",
        title="Cat is stuck in the tree",
        status=FollowUpStatus.OPEN,
        owner=LISA,
        priority="P0",  # incident.io's default "Urgent" (see test_incidentio_followup_priorities)
        priority_source="Urgent",
        at=T0,
        incident_id="incidentio:01FCNDV6P870EA6S7TK1DSYDG0",
        url="https://linear.app/incident-io/issue/INC-1609/find-copywriter-to-write-up",
    )
    v1 = parse_webhook(example("public_incident.follow_up_updated_v1"))[0]
    assert isinstance(v1, FollowUpFact)
    assert (v1.title, v1.priority) == ("Call the fire brigade", None)
    done = example("public_incident.follow_up_updated_v2")
    done["public_incident.follow_up_updated_v2"]["status"] = "not_doing"
    fact = parse_webhook(done)[0]
    assert isinstance(fact, FollowUpFact)
    assert fact.status is FollowUpStatus.DONE


def test_private_events_ask_for_a_refetch() -> None:
    incident = parse_webhook(example("private_incident.incident_updated_v2"))[0]
    follow_up = parse_webhook(example("private_incident.follow_up_created_v2"))[0]
    assert incident == RefetchRequest(
        Source.INCIDENTIO, "incident", "abc123", "private_incident.incident_updated_v2"
    )
    assert isinstance(follow_up, RefetchRequest)
    assert follow_up.resource == "follow_up"
    private_document = parse_webhook(example(f"private_{DOCUMENT_EVENT.partition('_')[2]}"))[0]
    assert isinstance(private_document, RefetchRequest)
    assert (private_document.resource, private_document.id) == ("postmortem_document", "abc123")


def test_postmortem_document_status_is_a_fact_and_the_incident_is_re_read() -> None:
    """incident.io's webhook names the change in `new_status` ("complete")."""
    fact, refetch = parse_webhook(example(DOCUMENT_EVENT))
    assert fact == VendorStatusFact(
        source="incidentio",
        incident_id="incidentio:01GBA8J19SMXQWPJMX3P2ESCVG",
        document_id="01GDZEW57FDA1K4S63MGMQ5DS9",
        status=VendorPostmortemStatus.COMPLETED,
        at=None,  # the example's updated_at is not a time
    )
    assert refetch == RefetchRequest(
        Source.INCIDENTIO, "incident", "01GBA8J19SMXQWPJMX3P2ESCVG", DOCUMENT_EVENT
    )
    # The API's spelling (GET /v1/postmortem_documents/{id}) means the same.
    api = {"id": "d1", "incident_id": "i1", "status": "in_review", "updated_at": T0.isoformat()}
    read = document_status({"postmortem_document": api})
    assert read is not None
    assert (read.status, read.at) == (VendorPostmortemStatus.IN_REVIEW, T0)


def test_responders_come_from_role_assignments_and_memberships() -> None:
    """Issue 13: INC-45 had "nobody found for responders"; its people hold roles."""
    dave = {"id": "01DAVE", "name": "Dave Scribe", "email": "dave@incident.io"}
    scribe = {"assignee": dave, "role": {"id": "s", "name": "Scribe", "role_type": "custom"}}
    document = variant()
    payload = document["public_incident.incident_updated_v2"]
    payload["incident_role_assignments"] = [*payload["incident_role_assignments"], scribe]
    payload["postmortem_document_ids"] = ["01PMDOC"]
    incident = incident_from(document)
    assert [r.person.email for r in incident.responders] == [
        "dave@incident.io",
        "lisa@incident.io",
    ]
    assert incident.links.postmortem_document_id == "01PMDOC"

    [granted] = parse_webhook(example(MEMBERSHIP))
    assert isinstance(granted, IncidentUpdate)
    assert granted.source_id == "abc123"
    [member] = granted.members["responders"]
    assert member.person == Person(incidentio_id="abc123")
    joined = merge(None, granted).record.incident
    assert joined.responders[0].joined_at is None, "a membership does not say when"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event_type": 5},
        {"event_type": "public_incident.incident_created_v2"},
        {
            "event_type": "public_incident.incident_created_v2",
            "public_incident.incident_created_v2": [],
        },
        {
            "event_type": "private_incident.incident_created_v2",
            "private_incident.incident_created_v2": {},
        },
        {
            "event_type": "public_incident.follow_up_created_v2",
            "public_incident.follow_up_created_v2": {},
        },
    ],
)
def test_odd_bodies_are_ignored(body: dict[str, Any]) -> None:
    results = parse_delivery("incidentio", json.dumps(body).encode())
    assert all(isinstance(result, Ignored) for result in results)
