"""The timeline assembled from PagerDuty's log, incident.io's log and the Slack channel."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hub.model.history import EntryKind, HistorySource
from hub.model.incident import Acknowledgement, Incident, Person
from hub.policy.people import History, assemble
from hub.policy.schema_document import NoiseSpec, TimelineSpec
from hub.policy.timeline import People, plain_line

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


def _incident() -> Incident:
    return incident(
        incident_commander=None,
        acknowledgers=(Acknowledgement(person=ALICE, at=at(8, 4)),),
        responders=(),
    )


def _timeline(*entries, spec: TimelineSpec | None = None):  # type: ignore[no-untyped-def]
    history = History(entries=tuple(entries), read=("pagerduty", "slack"), slack_ids=SLACK_IDS)
    return assemble(history, _incident(), spec or TimelineSpec(), NY).timeline


def test_one_ordered_timeline_from_every_source_in_the_policy_zone() -> None:
    timeline = _timeline(
        slack(at(8, 10), ALICE_SLACK, "Rolling back the config push", pinned=True),
        pd(EntryKind.RESOLVED, at(9, 40), ALICE_PD, "Resolved by Alice"),
        pd(EntryKind.TRIGGERED, at(8, 0), MONITOR, "Triggered through the API"),
        pd(EntryKind.ACKNOWLEDGED, at(8, 4), ALICE_PD, "Acknowledged by Alice"),
    )
    assert [(e.at.strftime("%H:%M"), e.source, e.text) for e in timeline] == [
        ("08:00", HistorySource.PAGERDUTY, "Triggered through the API"),
        ("08:04", HistorySource.PAGERDUTY, "Acknowledged by Alice"),
        ("08:10", HistorySource.SLACK, "Rolling back the config push"),
        ("09:40", HistorySource.PAGERDUTY, "Resolved by Alice"),
    ]
    assert all(e.at.tzinfo is not None and e.at.utcoffset() == NY.utcoffset(e.at) for e in timeline)
    assert timeline[0].actor == "Datadog"
    assert timeline[2].actor == "Alice Chen"
    assert timeline[2].key_moment
    assert timeline[2].link is not None
    assert "/archives/C0WAR/" in timeline[2].link


def test_key_moments_are_pins_and_the_key_reaction_only_unless_every_message_is_wanted() -> None:
    entries = (
        slack(at(8, 5), ALICE_SLACK, "looking"),
        slack(at(8, 6), BOB_SLACK, "It's the config push", reactions=(("pushpin", 2),)),
        slack(at(8, 7), BOB_SLACK, "rollback started", pinned=True),
        slack(at(8, 8), ALICE_SLACK, "ok", reactions=(("eyes", 1),)),
    )
    keyed = _timeline(*entries)
    assert [e.text for e in keyed] == ["It's the config push", "rollback started"]
    assert all(e.key_moment for e in keyed)
    everything = _timeline(*entries, spec=TimelineSpec(messages="all"))
    assert [e.text for e in everything] == [
        "looking",
        "It's the config push",
        "rollback started",
        "ok",
    ]
    assert [e.key_moment for e in everything] == [False, True, True, False]


def test_noise_bots_pmhub_notifications_patterns_and_observer_joins_stay_out() -> None:
    spec = TimelineSpec(messages="all", noise=NoiseSpec(patterns=[r"^/giphy"]))
    timeline = _timeline(
        pd(EntryKind.TRIGGERED, at(8, 0), MONITOR, "Triggered"),
        pd(
            EntryKind.NOTIFIED,
            at(8, 1),
            None,
            "Notified Alice by SMS",
            vendor_type="notify_log_entry",
        ),
        slack(at(8, 2), ALICE_SLACK, "<@U0ALICE> has joined the channel", kind=EntryKind.JOINED),
        slack(at(8, 3), CAROL_SLACK, "<@U0CAROL> has joined the channel", kind=EntryKind.JOINED),
        slack(at(8, 4), BOT_SLACK, "deploy 1234 finished"),
        slack(at(8, 5), ALICE_SLACK, "You own the post-mortem", labels=("pmhub",)),
        slack(at(8, 6), ALICE_SLACK, "/giphy fire"),
        slack(at(8, 7), ALICE_SLACK, "checking the dashboards"),
        spec=spec,
    )
    assert [e.text for e in timeline] == [
        "Triggered",
        "@Alice Chen has joined the channel",
        "checking the dashboards",
    ]
    # Carol only joined: an observer. With the rule off, her join is kept.
    kept = _timeline(
        slack(at(8, 3), CAROL_SLACK, "<@U0CAROL> has joined the channel", kind=EntryKind.JOINED),
        spec=TimelineSpec(noise=NoiseSpec(observer_joins=False)),
    )
    assert len(kept) == 1


def test_the_same_happening_told_by_two_tools_is_one_entry() -> None:
    timeline = _timeline(
        pd(EntryKind.TRIGGERED, at(8, 0), MONITOR, "Triggered through the API"),
        incidentio(EntryKind.TRIGGERED, at(8, 0), None, "PagerDuty incident triggered"),
        slack(at(8, 10), BOB_SLACK, "Root cause: the 08:50 config push", pinned=True),
        incidentio(
            EntryKind.MESSAGE, at(8, 11), None, "Root cause: the 08:50 config push", pinned=True
        ),
        # The same text an hour later is something new.
        slack(at(9, 30), BOB_SLACK, "Root cause: the 08:50 config push", pinned=True),
    )
    assert [(e.source, e.at.strftime("%H:%M")) for e in timeline] == [
        (HistorySource.PAGERDUTY, "08:00"),
        (HistorySource.SLACK, "08:10"),
        (HistorySource.SLACK, "09:30"),
    ]
    # A record read twice (same source and id) is one too.
    entry = pd(EntryKind.ACKNOWLEDGED, at(8, 4), BOB_PD, "Acknowledged")
    assert len(_timeline(entry, entry)) == 1


def test_slack_markup_reads_as_plain_markdown() -> None:
    people = People(_incident(), SLACK_IDS, [ALICE_SLACK])
    line = plain_line(
        "<@U0ALICE> see <https://grafana.example/d/1|the graph> in <#C0OPS|ops>\n\n<!here>",
        people,
    )
    assert line == "@Alice Chen see [the graph](https://grafana.example/d/1) in #ops @here"
    assert plain_line("# not a heading", people) == "\\# not a heading"
    assert plain_line("x" * 400, people).endswith("…")
