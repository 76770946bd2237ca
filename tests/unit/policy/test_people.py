"""Responders, the Incident Commander and the Scribe, links and TODOs, found in the history."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hub.model.history import Actor, EntryKind
from hub.model.incident import Acknowledgement, IncidentLinks, Person, RoleHolder, Source
from hub.policy.people import History, assemble
from hub.policy.schema_document import LinkSpec, TimelineSpec, TodoSpec

from .factories import incident
from .history_factories import (
    ALICE_PD,
    ALICE_SLACK,
    BOB_PD,
    BOB_SLACK,
    BOT_SLACK,
    CAROL_SLACK,
    MONITOR,
    SLACK_IDS,
    at,
    incidentio,
    pd,
    slack,
)

NY = ZoneInfo("America/New_York")
ALICE = Person(email="alice@example.com", name="Alice Chen")
BOB = Person(email="bob@example.com", name="Bob Okafor")


def _assembled(*entries, spec: TimelineSpec | None = None, **changes):  # type: ignore[no-untyped-def]
    values = {
        "incident_commander": ALICE,
        "acknowledgers": (Acknowledgement(person=ALICE, at=at(8, 4)),),
        "responders": (),
        **changes,
    }
    history = History(entries=tuple(entries), read=("pagerduty", "slack"), slack_ids=SLACK_IDS)
    return assemble(history, incident(**values), spec or TimelineSpec(), NY)


def test_responders_are_who_acted_matched_across_tools_with_when_they_joined() -> None:
    found = _assembled(
        pd(EntryKind.TRIGGERED, at(8, 0), MONITOR, "Triggered"),
        pd(EntryKind.ASSIGNED, at(8, 1), None, "Assigned to Bob", subject=BOB_PD),
        slack(at(8, 2), ALICE_SLACK, "<@U0ALICE> has joined", kind=EntryKind.JOINED),
        slack(at(8, 3), CAROL_SLACK, "<@U0CAROL> has joined", kind=EntryKind.JOINED),
        slack(at(8, 6), BOB_SLACK, "on it"),
        slack(at(8, 7), BOT_SLACK, "deploy done"),
    )
    names = [
        (r.person.name, r.joined_at and r.joined_at.strftime("%H:%M")) for r in found.responders
    ]
    # Bob's Slack messages and his PagerDuty assignment are one person (by email);
    # Carol only joined (an observer); the bot and the monitor are not people.
    assert names == [("Bob Okafor", "08:01"), ("Alice Chen", "08:02")]
    alice = found.responders[1]
    assert alice.person.email == "alice@example.com"
    assert alice.first_action_at is not None
    assert alice.first_action_at.strftime("%H:%M") == "08:04"  # her acknowledgement
    assert alice.roles == ("Incident Commander",)


def test_the_incident_tool_s_role_names_the_commander_first() -> None:
    lead = Person(email="bob@example.com", name="Bob Okafor", incidentio_id="01HBOB")
    found = _assembled(
        slack(at(8, 5), ALICE_SLACK, "I'm the IC"),
        id="incidentio:01X",
        source=Source.INCIDENTIO,
        source_id="01X",
        roles=(RoleHolder(role="Incident Lead", person=lead),),
    )
    assert found.commander is not None
    assert found.commander.person.email == "bob@example.com"
    assert found.commander.how == "the Incident Lead role in incidentio"


def test_a_pagerduty_responder_request_names_the_scribe() -> None:
    found = _assembled(
        pd(
            EntryKind.REQUESTED,
            at(8, 12),
            ALICE_PD,
            "Bob Okafor was asked to respond",
            vendor_type="responder_request",
            subject=BOB_PD,
            detail="Please join as scribe for the checkout incident",
        ),
    )
    assert found.scribe is not None
    assert found.scribe.person.email == "bob@example.com"
    assert found.scribe.how == "a PagerDuty responder request"


def test_slack_messages_name_the_commander_and_the_scribe_and_show_in_the_timeline() -> None:
    found = _assembled(
        slack(at(8, 5), ALICE_SLACK, "I'm the IC for this one"),
        slack(at(8, 6), ALICE_SLACK, "scribe: <@U0BOB|bob>"),
        slack(at(8, 7), BOB_SLACK, "unrelated chatter"),
        incident_commander=None,
    )
    assert found.commander is not None
    assert found.commander.person.email == "alice@example.com"
    assert found.commander.how == "a message in the channel"
    assert found.scribe is not None
    assert found.scribe.person.email == "bob@example.com"
    # The naming messages are kept like key moments; chatter is not.
    assert [e.text for e in found.timeline] == ["I'm the IC for this one", "scribe: @Bob Okafor"]


def test_the_first_acknowledger_is_the_commander_when_nothing_else_names_one() -> None:
    found = _assembled(pd(EntryKind.TRIGGERED, at(8, 0), MONITOR, "Triggered"))
    assert found.commander is not None
    assert found.commander.person == ALICE
    assert found.commander.how == "the first acknowledger"
    assert found.scribe is None


def test_call_recordings_calls_and_the_policy_s_links_are_kept() -> None:
    spec = TimelineSpec(
        links=[LinkSpec(name="Dashboard", pattern=r"https://app\.datadoghq\.com/\S+")]
    )
    found = _assembled(
        slack(at(8, 5), ALICE_SLACK, "bridge <https://acme.zoom.us/j/123456|zoom>"),
        slack(at(8, 6), BOB_SLACK, "graph https://app.datadoghq.com/dashboard/abc-123."),
        slack(at(10, 5), ALICE_SLACK, "recording: https://acme.zoom.us/rec/share/XyZ"),
        slack(at(10, 6), ALICE_SLACK, "unrelated https://example.com/page"),
        spec=spec,
        links=IncidentLinks(conference_url="https://meet.google.com/abc-defg-hij"),
    )
    assert [(link.name, link.url) for link in found.links] == [
        ("Call recording", "https://acme.zoom.us/rec/share/XyZ"),
        ("Call", "https://meet.google.com/abc-defg-hij"),
        ("Call", "https://acme.zoom.us/j/123456"),
        ("Dashboard", "https://app.datadoghq.com/dashboard/abc-123"),
    ]
    assert found.links[0].source_link is not None


def test_todos_are_harvested_from_people_s_messages_by_words_or_reaction() -> None:
    spec = TimelineSpec(todos=TodoSpec(reactions=["memo"]))
    entries = (
        slack(at(8, 5), ALICE_SLACK, "TODO: alert on config drift"),
        slack(at(8, 6), BOB_SLACK, "we need an action item for the canary"),
        slack(at(8, 7), BOB_SLACK, "let's follow-up with the vendor"),
        slack(at(8, 8), ALICE_SLACK, "add a runbook", reactions=(("memo", 1),)),
        slack(at(8, 9), ALICE_SLACK, "todos are for later"),  # not the word TODO
        slack(at(8, 10), BOT_SLACK, "TODO: bots do not count"),
        incidentio(EntryKind.MESSAGE, at(8, 11), Actor(name="Alice"), "TODO: from incident.io"),
    )
    found = _assembled(*entries, spec=spec)
    assert [c.text for c in found.candidates] == [
        "TODO: alert on config drift",
        "we need an action item for the canary",
        "let's follow-up with the vendor",
        "add a runbook",
    ]
    first = found.candidates[0]
    assert first.author == "Alice Chen"
    assert first.link is not None
    assert first.id.startswith("todo-")
    # Stable: read again, the same TODO has the same id.
    assert _assembled(*entries, spec=spec).candidates[0].id == first.id
