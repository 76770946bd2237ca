"""Counting, on the fakes and in the store, what the run did: per incident and per effect.

The fakes are the witnesses: each records what it did (Slack messages, calendar
events, Jira issues, documents, status page incidents, PagerDuty notes), and pmhub
stamps every one with its effect key (Slack message metadata, the event's private
property, the issue's marker label, the file's property, the incident's metadata).
A key found twice is an effect done twice. The effects ledger says what pmhub set
out to do, and the post-mortems' plans at the end what it owes; an effect it set out to
do that is not done, one owed and never begun, or done but absent from its vendor, is
missing - with one exception, counted apart: an attempt begun and cut off
whose intent the post-mortem's plan at the end no longer holds (see `unfinished_effects`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.google_calendar.connector import PMHUB_KEY_PROPERTY
from connectors.google_docs.connector import KEY_PROPERTY as DOCS_KEY_PROPERTY
from hub.config import load_settings
from hub.demo.world import CAROL, World
from hub.engine.reconcile import INLINE_INTENTS
from hub.policy import PolicySet, evaluate, load_policies
from hub.runtime import utc_now
from hub.store.db import create_engine
from hub.store.state import load_incident, load_postmortem
from tests.reliability.chaos.traffic import INCIDENT_PREFIX, Traffic

Json = dict[str, Any]
# What is due this long before the count is owed: the quiet wait ends after 2 s without a
# job due (sampled every 0.5 s), so a timer coming due since then is not owed yet.
SETTLED_FOR = timedelta(seconds=5)
INCIDENT = re.compile(rf"{INCIDENT_PREFIX}\d{{5}}")


@dataclass
class Tally:
    deliveries_sent: int = 0
    deliveries_acknowledged: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, not in the inbox
    unprocessed: list[str] = field(default_factory=list)  # in the inbox, never processed
    duplicates: dict[str, int] = field(default_factory=dict)  # effect marker -> extra copies
    missing: list[str] = field(default_factory=list)  # effect keys, or "<incident>: what"
    # Begun, cut off, and no longer in the post-mortem's plan at the end (a meeting check
    # of an hour gone by, a notice to an owner who handed over): not missing, listed.
    superseded: list[str] = field(default_factory=list)
    changes: int = 0
    changes_acknowledged: int = 0
    changes_lost: list[str] = field(default_factory=list)
    change_answers: dict[str, int] = field(default_factory=dict)  # final answer -> changes
    dead_jobs: list[str] = field(default_factory=list)  # "kind: last error"
    effects_done: int = 0
    effects_owed: int = 0  # due intents the plans at the end hold (each must be done)
    per_incident: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def duplicate_count(self) -> int:
        return sum(self.duplicates.values())

    def as_json(self) -> Json:
        return {
            "deliveries_sent": self.deliveries_sent,
            "deliveries_acknowledged": self.deliveries_acknowledged,
            "lost": self.lost,
            "unprocessed": self.unprocessed,
            "duplicates": self.duplicates,
            "missing": self.missing,
            "superseded": self.superseded,
            "changes": self.changes,
            "changes_acknowledged": self.changes_acknowledged,
            "changes_lost": self.changes_lost,
            "change_answers": self.change_answers,
            "dead_jobs": self.dead_jobs,
            "effects_done": self.effects_done,
            "effects_owed": self.effects_owed,
        }


def vendor_records(world: World) -> list[tuple[str, str, Json]]:
    """(vendor, effect marker, record) for everything pmhub made in a vendor's tool."""
    return [*_slack(world), *_google(world), *_jira(world), *_statuspage(world), *_notes(world)]


def _slack(world: World) -> list[tuple[str, str, Json]]:
    found = []
    for channel in list(world.slack.messages):
        for message in world.slack.posts(channel):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("effect_key"):
                # The same key and words in the same place twice is a duplicate; a key
                # posted anew with other words (or elsewhere) is an effect redone because
                # its intent changed (a new owner gets the request the old one had).
                marker = f"{payload['effect_key']} in {channel}: {_digest(message)}"
                found.append(("slack", marker, message))
    return found


def _google(world: World) -> list[tuple[str, str, Json]]:
    found = []
    for event in world.calendar.stored():
        private = (event.get("extendedProperties") or {}).get("private") or {}
        key = private.get(PMHUB_KEY_PROPERTY)
        if key and event.get("status") != "cancelled":
            found.append(("calendar", str(key), event))
    for file in world.docs.files.values():
        key = (file.get("properties") or {}).get(DOCS_KEY_PROPERTY)
        if key and not file.get("trashed"):
            found.append(("docs", str(key), file))
    return found


def _jira(world: World) -> list[tuple[str, str, Json]]:
    return [
        ("jira", label, issue)
        for issue in world.jira.issues.values()
        for label in issue["fields"].get("labels") or ()
        if label.startswith("pmhub-")  # the marker label: a hash of the effect key
    ]


def _statuspage(world: World) -> list[tuple[str, str, Json]]:
    found = []
    for incident in world.statuspage.incidents.values():
        key = ((incident.get("metadata") or {}).get("pmhub") or {}).get("effect_key")
        if key:
            found.append(("statuspage", str(key), incident))
    return found


def _notes(world: World) -> list[tuple[str, str, Json]]:
    """PagerDuty notes carry no key: the same words on the same incident twice is a duplicate."""
    return [
        ("pagerduty", f"{pd_id}:note:{note.get('content', '')}", note)
        for pd_id, notes in world.pagerduty.notes.items()
        for note in notes
    ]


def _digest(message: Json) -> str:
    words = json.dumps([message.get("text"), message.get("blocks")], sort_keys=True)
    return hashlib.sha256(words.encode()).hexdigest()[:12]


async def count(world: World, traffic: Traffic, store_url: str, config: Path) -> Tally:
    """Right after the run is quiet. `config`: a replica's pmhub.yaml, for the policies
    the plans at the end are made of."""
    tally = Tally(deliveries_sent=traffic.sent, deliveries_acknowledged=len(traffic.acknowledged))
    records = vendor_records(world)
    markers = Counter(marker for _, marker, _ in records)
    tally.duplicates = {m: n - 1 for m, n in markers.items() if n > 1}
    for vendor, _, record in records:
        match = INCIDENT.search(json.dumps(record))
        where = match.group(0) if match else "(no incident)"
        tally.per_incident.setdefault(where, Counter())[vendor] += 1
    settings = load_settings(config)
    policies = load_policies(settings.policies, settings.teams)
    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            inbox = {
                row.delivery_id: row.processed_at
                for row in await conn.execute(
                    text("SELECT delivery_id, processed_at FROM inbox WHERE source='pagerduty'")
                )
            }
            query = text("SELECT key, kind, state, intent_hash FROM effects")
            effects = list(await conn.execute(query))
            dead = list(
                await conn.execute(text("SELECT kind, last_error FROM jobs WHERE state = 'dead'"))
            )
            postmortems = {
                row.id: json.loads(row.data) if isinstance(row.data, str) else row.data
                for row in await conn.execute(text("SELECT id, data, status FROM postmortems"))
            }
            statuses = {
                row.id: row.status
                for row in await conn.execute(text("SELECT id, status FROM postmortems"))
            }
            plans = await plans_at_the_end(conn, policies, utc_now() - SETTLED_FOR)
    finally:
        await engine.dispose()
    tally.lost = sorted(traffic.acknowledged - inbox.keys())
    tally.unprocessed = sorted(d for d in traffic.acknowledged if d in inbox and not inbox[d])
    tally.dead_jobs = [f"{row.kind}: {(row.last_error or '')[:160]}" for row in dead]
    tally.effects_done = sum(row.state == "done" for row in effects)
    rows = [(r.key, r.state) for r in effects]
    tally.missing, tally.superseded = unfinished_effects(rows, plans.planned, plans.wanted)
    ledger = {r.key: (r.state, r.intent_hash) for r in effects}
    tally.missing += owed_not_done(plans.owed, ledger)
    tally.effects_owed = len(plans.owed)
    for pd_id in traffic.incidents:
        if f"pm:pagerduty:{pd_id}" not in postmortems:
            tally.missing.append(f"{pd_id}: no post-mortem")
        elif not tally.per_incident.get(pd_id, Counter())["calendar"]:
            tally.missing.append(f"{pd_id}: no meeting on the calendar")
    _changes(tally, traffic, postmortems, statuses)
    return tally


@dataclass
class PlansAtTheEnd:
    """What the post-mortems' plans hold when the run is quiet, evaluated as the engine
    would evaluate them now (`hub.engine.effects`, `hub.engine.reconcile`)."""

    planned: set[str] = field(default_factory=set)  # the `pm:<incident>:` prefixes evaluated
    wanted: set[str] = field(default_factory=set)  # every intent key the plans hold
    # Intents due by the count (not timers ahead) that the reconcile hands to effect jobs,
    # by key: their fingerprint, which a done ledger row must carry.
    owed: dict[str, str] = field(default_factory=dict)


async def plans_at_the_end(
    conn: AsyncConnection, policies: PolicySet, due_by: datetime
) -> PlansAtTheEnd:
    """Every stored incident's plan now; what is due by `due_by` is owed."""
    plans = PlansAtTheEnd()
    now = utc_now()
    for (incident_id,) in await conn.execute(text("SELECT id FROM incidents ORDER BY id")):
        stored = await load_incident(conn, incident_id)
        if stored is None:
            continue
        postmortem = await load_postmortem(conn, incident_id)
        plans.planned.add(f"pm:{incident_id}:")
        for intent in evaluate(stored.incident, postmortem, policies, now).intents:
            plans.wanted.add(intent.key)
            due = intent.due_at is None or intent.due_at <= due_by
            if due and intent.kind not in INLINE_INTENTS:
                plans.owed[intent.key] = intent.fingerprint()
    return plans


def owed_not_done(owed: dict[str, str], ledger: dict[str, tuple[str, str]]) -> list[str]:
    """Intents the plans hold, due, that the ledger does not show done for exactly them:
    never begun (no row), or done for an earlier version of the intent and not redone.
    (A row begun and not done is counted by `unfinished_effects`.)"""
    missing = []
    for key, fingerprint in sorted(owed.items()):
        row = ledger.get(key)
        if row is None:
            missing.append(f"{key} (planned and due, never begun)")
        elif row[0] == "done" and row[1] != fingerprint:
            missing.append(f"{key} (done for an earlier version of its intent)")
    return missing


def unfinished_effects(
    effects: list[tuple[str, str]], planned: Collection[str], wanted: Collection[str]
) -> tuple[list[str], list[str]]:
    """(missing, superseded) among the ledger's (key, state) rows that are not done.

    `planned`: the `pm:<incident>:` prefixes whose plans at the end were made; `wanted`:
    the intent keys those plans hold. A `pending` row (an attempt begun, then cut off by
    a fault or a kill) whose key the plan at the end no longer holds is superseded: the
    engine's effect job finds the intent gone and ends without acting, as it should -
    a meeting check of an hour gone by (the plan asks for the latest check due and the
    next one, `hub.policy.upkeep`), or a notice to an owner who handed the post-mortem
    over before being told (the new owner's own notice has its own key). Every other
    unfinished row is missing: one still planned, one refused (`failed`), or one outside
    any post-mortem's plan.
    """
    missing: list[str] = []
    superseded: list[str] = []
    for key, state in effects:
        if state == "done":
            continue
        of_a_plan = any(key.startswith(prefix) for prefix in planned)
        gone = state == "pending" and of_a_plan and key not in wanted
        (superseded if gone else missing).append(f"{key} ({state})")
    return missing, superseded


def _changes(
    tally: Tally, traffic: Traffic, postmortems: dict[str, Json], statuses: dict[str, str]
) -> None:
    """Every change a person made and was told was made is there at the end, once."""
    tally.changes = len(traffic.changes)
    answers = Counter(str(change.status or "no answer") for change in traffic.changes)
    tally.change_answers = dict(sorted(answers.items()))
    for change in traffic.changes:
        if not change.acknowledged:
            continue
        tally.changes_acknowledged += 1
        pm_id = f"pm:pagerduty:{change.incident}"
        pm = postmortems.get(pm_id) or {}
        if change.action == "owner":
            designations = pm.get("designations") or [{}]
            kept = (designations[-1].get("person") or {}).get("email") == CAROL.email
        elif change.action == "follow_up":
            same = [
                f for f in pm.get("follow_ups") or () if f.get("summary") == change.body["summary"]
            ]
            kept = len(same) == 1
        else:
            kept = statuses.get(pm_id) in ("in_review", "reviewed", "closed")
        if not kept:
            tally.changes_lost.append(f"{change.incident}: {change.action}")
