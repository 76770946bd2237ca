"""The pure choice of the page incident a post-mortem belongs to (statuspage/matching.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.statuspage.matching import (
    WINDOW_SLACK,
    carries,
    choose,
    names_reference,
    opened_during,
)
from hub.ports import Publication

STARTED = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 19, 19, 5, tzinfo=UTC)
PUB = Publication(
    incident_name="Checkout API 5xx",
    body="Some checkouts failed.",
    marker="pm:pagerduty:P1:external",
    reference="PD-1042",
    started_at=STARTED,
    resolved_at=RESOLVED,
)


def page(id_: str, name: str, created: datetime, **extra: Any) -> dict[str, Any]:
    stamp = created.isoformat().replace("+00:00", "Z")
    return {"id": id_, "name": name, "status": "resolved", "created_at": stamp, **extra}


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (STARTED - WINDOW_SLACK, True),
        (STARTED - WINDOW_SLACK - timedelta(seconds=1), False),
        (RESOLVED + WINDOW_SLACK, True),
        (RESOLVED + WINDOW_SLACK + timedelta(seconds=1), False),
    ],
)
def test_the_window_is_the_incident_give_or_take_the_slack(
    created: datetime, expected: bool
) -> None:
    assert opened_during(page("a", "x", created), PUB) is expected


def test_an_open_incident_has_no_end_and_unknown_times_never_match() -> None:
    still_open = Publication(incident_name="x", body="b", marker="m", started_at=STARTED)
    assert opened_during(page("a", "x", STARTED + timedelta(days=9)), still_open)
    assert not opened_during({"id": "a", "created_at": "yesterday"}, PUB)
    undated = Publication(incident_name="x", body="b", marker="m")
    assert not opened_during(page("a", "x", STARTED), undated)


def test_naive_times_are_taken_as_utc() -> None:
    naive = Publication(
        incident_name="x",
        body="b",
        marker="m",
        started_at=STARTED.replace(tzinfo=None),
        resolved_at=RESOLVED.replace(tzinfo=None),
    )
    assert opened_during({"created_at": "2026-11-19T15:00:00"}, naive)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PD-1042 checkout", True),
        ("[pd-1042] checkout", True),
        ("Checkout (PD-1042).", True),
        ("PD-10420 checkout", False),
        ("XPD-1042", False),
        ("APD-1042", False),
    ],
)
def test_the_reference_is_a_whole_word(text: str, expected: bool) -> None:
    assert names_reference({"name": text}, "PD-1042") is expected


def test_choice_order_marker_then_reference_then_name_in_time() -> None:
    by_name = page("n", "checkout api 5XX", STARTED + timedelta(minutes=5))
    by_ref = page("r", "PD-1042", STARTED + timedelta(days=2))
    ours = page("o", "renamed", STARTED, metadata={"pmhub": {"effect_key": PUB.marker}})
    assert choose([by_name], PUB) is not None
    found = choose([by_name, by_ref], PUB)
    assert found is not None
    assert found.incident["id"] == "r"
    found = choose([by_name, by_ref, ours], PUB)
    assert found is not None
    assert found.incident["id"] == "o"


def test_the_one_carrying_the_postmortem_wins_then_the_earliest() -> None:
    early = page("e", "PD-1042 a", STARTED)
    late = page("l", "PD-1042 b", STARTED + timedelta(hours=1))
    carrying = {**late, "postmortem_body": PUB.body, "postmortem_published_at": "2026-11-21"}
    assert carries(carrying, PUB)
    assert not carries({**late, "postmortem_body": PUB.body}, PUB)  # a body is not published
    first = choose([late, early], PUB)
    assert first is not None
    assert first.incident["id"] == "e"
    kept = choose([early, carrying], PUB)
    assert kept is not None
    assert kept.incident["id"] == "l"


def test_nothing_usable_is_no_choice() -> None:
    maintenance = page("m", "PD-1042 upgrade", STARTED, status="completed")
    theirs = page("t", "PD-1042", STARTED, metadata={"pmhub": {"effect_key": "pm:other"}})
    no_id = {"name": "PD-1042", "status": "resolved"}
    assert choose([maintenance, theirs, no_id], PUB) is None
