"""The event description, snapshot-tested: a change to it is a change people will see."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors.google_calendar.agenda import describe, headline
from hub.ports import MeetingDetails
from tests.connectors.google_calendar.conftest import DETAILS

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("PMHUB_UPDATE_SNAPSHOTS") == "1"


def matches_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"no snapshot {path}; run with PMHUB_UPDATE_SNAPSHOTS=1 and review it")
    assert text == path.read_text(encoding="utf-8")


def test_full_description() -> None:
    details = MeetingDetails(**{**DETAILS.__dict__, "notes": ("The incident was reopened.",)})
    matches_snapshot("description_full.txt", describe(details))


def test_minimal_description() -> None:
    matches_snapshot("description_minimal.txt", describe(MeetingDetails(incident_title="Outage?")))


def test_the_agenda_is_seed_004s() -> None:
    text = describe(DETAILS)
    for item in (
        "1. Recap the timeline, to make sure everyone agrees and is on the same page.",
        "2. Recap important points, and any unusual items.",
        "3. Discuss how the problem could've been caught.",
        "   - Did it show up in canary?",
        "   - Could it have been caught in tests, or loadtest environment?",
        "4. Discuss customer impact. Any comments from customers, etc.",
        "5. Review action items that have been created",
    ):
        assert item in text


def test_a_link_given_twice_is_listed_once() -> None:
    text = describe(DETAILS)  # the PagerDuty URL is also the incident URL
    assert text.count("https://example.pagerduty.com/incidents/PGR0VU2") == 1
    assert "Post-mortem document: https://docs.example.com/postmortems/pd-1042" in text


@pytest.mark.parametrize(
    ("reference", "severity", "expected"),
    [
        ("PD-1042", "SEV-1", "PD-1042 (SEV-1): DB"),
        ("PD-1042", None, "PD-1042: DB"),
        (None, "SEV-2", "SEV-2: DB"),
        (None, None, "DB"),
    ],
)
def test_headline(reference: str | None, severity: str | None, expected: str) -> None:
    details = MeetingDetails(incident_title="DB", incident_reference=reference, severity=severity)
    assert headline(details) == expected
