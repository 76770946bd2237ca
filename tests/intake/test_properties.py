"""Property tests: no input crashes a verifier or an adapter; merge order never matters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.intake.adapters import (
    SOURCES,
    AdapterResult,
    Ignored,
    RefetchRequest,
    incidentio,
    jira,
    pagerduty,
    pagerduty_rest,
    parse_delivery,
    slack,
)
from hub.intake.merge import merge, merge_all
from hub.intake.verifiers import (
    IncidentIoVerifier,
    IntakeRejection,
    JiraVerifier,
    PagerDutyVerifier,
    SlackVerifier,
    Verifier,
)
from hub.model.command import Command
from hub.model.followup_event import FollowUpFact
from hub.model.incident import IncidentStatus, Person, Severity, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.vendor_status import VendorStatusFact
from tests.intake.helpers import (
    IO_EXAMPLES,
    NOW,
    PD_EXAMPLES,
    PD_REST,
    jira_headers,
    load,
    pd_envelope,
    pd_signature,
    slack_headers,
    svix_headers,
)

IO_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VERIFIERS: list[Verifier] = [
    PagerDutyVerifier(["s1", "s2"]),
    IncidentIoVerifier([IO_SECRET]),
    SlackVerifier("slack/commands", "s1"),
    SlackVerifier("slack/interactions", "s1"),
    JiraVerifier("s1"),
]
HEADER_NAMES = [
    "X-PagerDuty-Signature",
    "X-Webhook-Id",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Slack-Signature",
    "X-Slack-Request-Timestamp",
    "X-Hub-Signature",
    "X-Atlassian-Webhook-Identifier",
]
# Field names the adapters look for, so random documents reach deep code paths.
VOCABULARY = [
    "event", "event_type", "data", "type", "id", "incident", "occurred_at", "agent", "status",
    "priority", "urgency", "summary", "title", "number", "service", "teams", "assignees",
    "incident_type", "name", "content", "state", "user", "incident_role_assignments", "role",
    "assignee", "custom_fields", "value", "conference_bridge", "conference_url", "resolve_reason",
    "incident_status", "category", "severity", "reference", "creator", "alert",
    "incident_timestamp_values", "incident_timestamp", "custom_field_entries", "custom_field",
    "values", "value_option", "field_type", "team_ids", "updated_at", "created_at",
    "webhookEvent", "issue", "key", "fields", "statusCategory", "timestamp", "actions",
    "action_id", "postmortem_document", "incident_id", "public_incident.incident_updated_v2",
    "private_incident.incident_updated_v2", "public_incident.follow_up_created_v2",
]  # fmt: skip
EVENT_TYPES = [
    "incident.triggered", "incident.acknowledged", "incident.resolved", "incident.reopened",
    "incident.role.assigned", "incident.annotated", "incident.responder.replied",
    "public_incident.incident_updated_v2", "private_incident.incident_updated_v2",
    "public_incident.follow_up_created_v2", "jira:issue_updated", "block_actions",
    "incident", "incident_role_assignment", "incident_note", "incident_responder",
    "incident_field_values", "done", "lead", "reporter", "triage", "closed", "joined",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False)
    | st.sampled_from([*EVENT_TYPES, "2024-05-01T10:00:00Z", "P1", "high", "not a date"])
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=40,
)
documents = st.dictionaries(st.sampled_from(VOCABULARY), json_values, max_size=8)
RESULT_TYPES = (IncidentUpdate, FollowUpFact, VendorStatusFact, Command, Ignored, RefetchRequest)


def check_results(results: tuple[AdapterResult, ...]) -> None:
    assert results
    updates = [r for r in results if isinstance(r, IncidentUpdate)]
    for result in results:
        assert isinstance(result, RESULT_TYPES)
    for item in updates:
        merge(None, item).record.incident  # noqa: B018 - materialising must not fail either


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=300),
    headers=st.dictionaries(
        st.sampled_from(HEADER_NAMES) | st.text(max_size=10), st.text(max_size=40)
    ),
)
def test_verifiers_only_reject(body: bytes, headers: dict[str, str]) -> None:
    for verifier in VERIFIERS:
        try:
            verifier.verify(headers, body, NOW)
            status = 202
        except IntakeRejection as rejection:
            status = rejection.status
        assert status in (202, 400, 401)


def signed(source: str, body: bytes) -> dict[str, str]:
    if source == "pagerduty":
        return {"X-PagerDuty-Signature": pd_signature("s1", body)}
    if source == "incidentio":
        return svix_headers(IO_SECRET, body)
    if source == "jira":
        return jira_headers("s1", body)
    return slack_headers("s1", body)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=200) | documents.map(lambda d: json.dumps(d).encode()))
def test_authentic_but_odd_bodies_accepted_or_400(body: bytes) -> None:
    for verifier in VERIFIERS:
        try:
            delivery_id = verifier.verify(signed(verifier.source, body), body, NOW).delivery_id
            status = 202
        except IntakeRejection as rejection:
            delivery_id, status = "", rejection.status
        assert status == 400 or delivery_id


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents, source=st.sampled_from(SOURCES))
def test_adapters_never_crash_on_json(document: dict[str, Any], source: str) -> None:
    check_results(parse_delivery(source, json.dumps(document).encode()))


@st.composite
def mutated(draw: st.DrawFn, value: object, root: bool = False) -> Any:
    """A real example with a few parts dropped or replaced by random JSON, at any depth.

    Each node is touched with a small probability so most of the structure (ids,
    event types) survives and the adapters' deep paths are exercised.
    """
    if not root and draw(st.integers(0, 14)) == 0:
        return draw(json_values)
    if isinstance(value, dict):
        return {key: draw(mutated(item)) for key, item in value.items() if draw(st.integers(0, 14))}
    if isinstance(value, list):
        return [draw(mutated(item)) for item in value]
    return value


def mutate(value: object) -> st.SearchStrategy[Any]:
    """Mutated below the top level: the callers' contract is a JSON object."""
    return mutated(value, root=True)


def example_data(name: str) -> Any:
    return load(PD_EXAMPLES / name)


PD_DATA = [
    example_data(name)
    for name in (
        "data_incident.json",
        "data_incident_note.json",
        "data_incident_responder.json",
        "data_incident_role_assignment.json",
        "data_incident_field_values.json",
        "data_incident_conference_bridge.json",
    )
]
PD_EVENTS = [
    "incident.triggered",
    "incident.acknowledged",
    "incident.resolved",
    "incident.reopened",
    "incident.annotated",
    "incident.responder.replied",
    "incident.role.assigned",
]
IO_DOCUMENTS = [
    load(IO_EXAMPLES / f"{name}.json")
    for name in (
        "public_incident.incident_updated_v2",
        "public_incident.incident_status_updated_v2",
        "public_incident.follow_up_created_v2",
        "public_incident.follow_up_updated_v1",
        "private_incident.incident_updated_v2",
        "public_incident.postmortem_document_status_updated_v1",
    )
]
ENVELOPE_AGENT = {"id": "PU", "type": "user_reference", "summary": "U"}


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.sampled_from(PD_DATA).flatmap(mutate),
    event_type=st.sampled_from(PD_EVENTS),
    agent=st.just(ENVELOPE_AGENT) | json_values,
)
def test_pagerduty_mutated_examples(data: Any, event_type: str, agent: Any) -> None:
    # Called directly, not through parse_delivery's last-resort handler.
    body = pd_envelope(data, event_type, agent=agent)
    check_results(pagerduty.parse_webhook(body))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    incident=mutate(load(PD_REST / "get_incident.json")["incident"]),
    entries=mutate(load(PD_REST / "list_log_entries.json")["log_entries"] * 2),
    user=mutate(load(PD_REST / "get_user.json")["user"]),
    oncall=mutate(load(PD_REST / "list_oncalls.json")["oncalls"][0]),
)
def test_pagerduty_rest_mutated_examples(
    incident: dict[str, Any], entries: list[Any], user: dict[str, Any], oncall: dict[str, Any]
) -> None:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    results: list[IncidentUpdate | None] = [
        pagerduty_rest.incident_update(incident),
        *pagerduty_rest.log_entry_updates("PX", entries),
        pagerduty_rest.user_update("PX", user, at),
        pagerduty_rest.primary_oncall_update("PX", oncall, at),
    ]
    for update in results:
        if update is not None:
            merge(None, update).record.incident  # noqa: B018


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.sampled_from(IO_DOCUMENTS).flatmap(mutate))
def test_incidentio_mutated_examples(document: Any) -> None:
    check_results(incidentio.parse_webhook(document))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents, event_type=st.sampled_from(EVENT_TYPES))
def test_jira_and_slack_random_documents(data: dict[str, Any], event_type: str) -> None:
    check_results(jira.parse_webhook({**data, "webhookEvent": event_type}))
    check_results(slack.parse_interaction({**data, "type": "block_actions"}))


@settings(deadline=None)
@given(
    text=st.text(max_size=80)
    | st.lists(
        st.sampled_from(
            [
                "owner",
                "followup",
                "close",
                "reviewed",
                "--override",
                "P1",
                "PD-1",
                "INC-2",
                "<@U1|a>",
                "<@U2>",
                "@bob",
                "<@",
                "help",
                "status",
                "message",
                "x",
            ]
        ),
        max_size=6,
    ).map(" ".join)
)
def test_command_parser_never_raises(text: str) -> None:
    command = slack.parse_command_text(text, actor=Person(slack_id="U1"))
    assert command.raw_text == text


# --- convergence -----------------------------------------------------------------------

TIMES = [datetime(2024, 5, 1, hour, tzinfo=UTC) for hour in range(3)]
PEOPLE = [
    Person(pagerduty_id="P1", name="Ann"),
    Person(pagerduty_id="P1", email="ann@example.com"),
    Person(pagerduty_id="P2", name="Bob"),
    Person(slack_id="U9", name="Cy"),
]
times = st.sampled_from(TIMES)
people = st.sampled_from(PEOPLE)
field_values = st.fixed_dictionaries(
    {},
    optional={
        "title": st.sampled_from(["a", "b", "c"]),
        "status": st.sampled_from(list(IncidentStatus)),
        "severity": st.sampled_from(list(Severity)),
        "resolved_at": st.none() | times,
        "incident_commander": st.none() | people,
        "role:Scribe": st.none() | people,
        "links.vendor_url": st.sampled_from(["https://a", "https://b"]),
        "false_positive.note": st.booleans(),
        "custom_fields": st.dictionaries(st.sampled_from("xy"), st.sampled_from("12"), max_size=2),
    },
)
member_values = st.fixed_dictionaries(
    {},
    optional={
        name: st.lists(st.tuples(people, times), max_size=3)
        for name in ("acknowledgers", "responders", "assignees", "people")
    },
)
updates = st.builds(
    lambda at, fields, members: IncidentUpdate.of(Source.PAGERDUTY, "PX", at, fields, members),
    times,
    field_values,
    member_values,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), deliveries=st.lists(updates, min_size=1, max_size=6))
def test_any_order_with_duplicates_converges(
    data: st.DataObject, deliveries: list[IncidentUpdate]
) -> None:
    duplicates = data.draw(st.lists(st.sampled_from(deliveries), max_size=4))
    shuffled = data.draw(st.permutations(deliveries + duplicates))
    expected = merge_all(None, deliveries)
    actual = merge_all(None, shuffled)
    assert actual is not None
    assert expected is not None
    assert actual == expected
    assert json.dumps(actual.to_json()) == json.dumps(expected.to_json())
    # Replaying everything again changes nothing.
    assert all(not merge(actual, update).changed for update in shuffled)
