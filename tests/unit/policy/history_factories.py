"""History records as the readers return them, for the timeline and people tests."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from hub.model.history import Actor, EntryKind, HistoryEntry, HistorySource

from .factories import ny

ALICE_PD = Actor(name="Alice Chen", email="alice@example.com", vendor_id="PALICE")
BOB_PD = Actor(name="Bob Okafor", email="bob@example.com", vendor_id="PBOB")
MONITOR = Actor(name="Datadog", vendor_id="PSVC1", is_bot=True)
ALICE_SLACK = Actor(name="Alice Chen", vendor_id="U0ALICE")
BOB_SLACK = Actor(name="Bob Okafor", vendor_id="U0BOB")
CAROL_SLACK = Actor(name="Carol Diaz", vendor_id="U0CAROL")
BOT_SLACK = Actor(name="deploybot", vendor_id="B0DEPLOY", is_bot=True)
SLACK_IDS = {"alice@example.com": "U0ALICE", "bob@example.com": "U0BOB"}
_ids = itertools.count(1)


def pd(kind: EntryKind, at: datetime, actor: Actor | None, text: str, **more: Any) -> HistoryEntry:
    number = next(_ids)
    vendor_type = more.pop("vendor_type", f"{kind.value}_log_entry")
    return HistoryEntry(
        source=HistorySource.PAGERDUTY,
        id=f"Q{number}",
        kind=kind,
        vendor_type=vendor_type,
        at=at,
        actor=actor,
        text=text,
        link=f"https://acme.pagerduty.com/incidents/P1/log_entries/Q{number}",
        **more,
    )


def slack(at: datetime, actor: Actor | None, text: str, **more: Any) -> HistoryEntry:
    ts = f"{at.timestamp():.6f}"
    kind = more.pop("kind", EntryKind.MESSAGE)
    vendor_type = more.pop("vendor_type", "channel_join" if kind is EntryKind.JOINED else "message")
    return HistoryEntry(
        source=HistorySource.SLACK,
        id=ts,
        kind=kind,
        vendor_type=vendor_type,
        at=at,
        actor=actor,
        text=text,
        link=f"https://acme.slack.com/archives/C0WAR/p{ts.replace('.', '')}",
        **more,
    )


def incidentio(
    kind: EntryKind, at: datetime, actor: Actor | None, text: str, **more: Any
) -> HistoryEntry:
    return HistoryEntry(
        source=HistorySource.INCIDENT_IO,
        id=f"01H{next(_ids):023d}",
        kind=kind,
        vendor_type=more.pop("vendor_type", kind.value),
        at=at,
        actor=actor,
        text=text,
        link="https://app.incident.io/acme/incidents/45",
        **more,
    )


def at(hour: int, minute: int) -> datetime:
    """On the incident's day (Monday 2 March 2026, New York)."""
    return ny(2026, 3, 2, hour, minute)
