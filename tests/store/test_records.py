"""Audit trail and the incident/post-mortem read helpers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store import audit, records
from hub.store.tables import incidents, postmortems
from tests.store.helpers import T0


async def test_audit_is_appended_and_read_in_order(engine: AsyncEngine) -> None:
    later = T0 + timedelta(hours=1)
    entry = audit.AuditEntry(
        subject="pm:pagerduty:P1", action="status", actor="pmhub", reason="due", rule="r1"
    )
    await audit.record(engine, entry, now=later)
    await audit.record(engine, entry, now=T0)
    await audit.record(engine, audit.AuditEntry(subject="other", action="a", actor="x", reason="r"))
    trail = await audit.list_entries(engine, "pm:pagerduty:P1")
    assert [e.at for e in trail] == [T0, later]
    assert trail[0].rule == "r1"
    assert trail[0].detail == {}
    assert len(await audit.list_entries(engine)) == 3


async def test_incidents_and_postmortems_read_back_json_ready(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(incidents).values(
                id="pagerduty:P1",
                source="pagerduty",
                source_id="P1",
                data={"title": "db down"},
                vendor_updated_at=T0,
                created_at=T0,
                updated_at=T0,
            )
        )
        await conn.execute(
            insert(postmortems).values(
                id="pm-1",
                incident_id="pagerduty:P1",
                status="draft",
                data={},
                created_at=T0,
                updated_at=T0,
            )
        )
    incident = await records.get_incident(engine, "pagerduty:P1")
    assert incident is not None
    assert incident["data"] == {"title": "db down"}
    assert incident["updated_at"] == T0.isoformat()
    assert [i["id"] for i in await records.list_incidents(engine, source="pagerduty")] == [
        "pagerduty:P1"
    ]
    assert await records.list_incidents(engine, source="incidentio") == []
    pm = await records.get_postmortem_for_incident(engine, "pagerduty:P1")
    assert pm is not None
    assert pm == await records.get_postmortem(engine, "pm-1")
    assert [p["id"] for p in await records.list_postmortems(engine, status="draft")] == ["pm-1"]
    assert await records.get_incident(engine, "nope") is None
