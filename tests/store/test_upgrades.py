"""Upgrades (issue 12): a database the previous release left, with work in it, migrates
to head and the daemon carries on; a database newer than the code is refused; and the
migrations since the previous release are additive, which is what makes a rolling
upgrade safe (docs/operations.md, "Upgrades and migrations")."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Column, MetaData, Table, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.cli import main
from hub.jobs.kinds import INGEST, ingest_key
from hub.store import tables
from hub.store.db import create_engine
from hub.store.migrate import SchemaTooNew, current_revision, head_revision, upgrade
from hub.store.tables import audit, effects, incidents, postmortems
from tests.store.helpers import T0
from tests.support.daemon import running_daemon, settle, write_config
from tests.support.db import EngineFactory, sqlite_url
from tests.support.signing import pagerduty_delivery

# The schema v0.1.0 shipped (the first revision, `git log hub/store/migrations/versions`).
PREVIOUS_RELEASE = "0001"
OLD_TABLES = ("inbox", "jobs", "effects", "incidents", "postmortems", "audit")
TABLES: tuple[Table, ...] = (tables.inbox, tables.jobs, tables.incidents, tables.postmortems)
TABLES += (tables.effects, tables.audit)


async def _as_released(conn: AsyncConnection, table: Table) -> Table:
    """`table` with only the columns the database has: what the previous release's code
    inserts. (Today's table would also write columns later migrations add, with their
    Python-side defaults, which the previous schema does not have.)"""
    found = await conn.run_sync(lambda sync: inspect(sync).get_columns(table.name))
    names = {column["name"] for column in found}
    kept = [Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns]
    return Table(table.name, MetaData(), *(c for c in kept if c.name in names))


async def _seed_previous_release(engine: AsyncEngine) -> None:
    """What a v0.1.0 replica leaves behind: history, and a delivery not yet ingested."""
    body, headers = pagerduty_delivery(incident_id="PUPGRADE")
    async with engine.begin() as conn:
        inbox, jobs, incidents, postmortems, effects, audit = [
            await _as_released(conn, t) for t in TABLES
        ]
        delivery = await conn.execute(
            insert(inbox)
            .values(
                source="pagerduty",
                delivery_id=headers["X-Webhook-Id"],
                event_type="incident.triggered",
                headers=headers,
                body=body,
                received_at=T0,
                processed_at=None,
            )
            .returning(inbox.c.id)
        )
        inbox_id = delivery.scalar_one()
        await conn.execute(
            insert(jobs).values(
                kind=INGEST,
                payload={"inbox_id": inbox_id},
                dedupe_key=ingest_key("pagerduty", headers["X-Webhook-Id"]),
                state="pending",
                run_at=T0,
                attempts=0,
                created_at=T0,
                updated_at=T0,
            )
        )
        await conn.execute(
            insert(incidents).values(
                id="pagerduty:POLD",
                source="pagerduty",
                source_id="POLD",
                data={"title": "old"},
                created_at=T0,
                updated_at=T0,
            )
        )
        await conn.execute(
            insert(postmortems).values(
                id="pagerduty:POLD",
                incident_id="pagerduty:POLD",
                status="closed",
                data={},
                created_at=T0,
                updated_at=T0,
            )
        )
        await conn.execute(
            insert(effects).values(
                key="pm:pagerduty:POLD:post",
                kind="chat_post",
                state="done",
                vendor_ref="1700000000.000100",
                intent_hash="h",
                detail={"channel": "C1"},
                created_at=T0,
                updated_at=T0,
            )
        )
        await conn.execute(
            insert(audit).values(
                at=T0,
                subject="pm:pagerduty:POLD",
                action="closed",
                actor="a",
                reason="r",
                detail={},
            )
        )


async def _snapshot(engine: AsyncEngine) -> dict[str, list[str]]:
    tables = {"incidents": incidents, "postmortems": postmortems, "effects": effects}
    tables["audit"] = audit
    found: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        for name, table in tables.items():
            rows = (await conn.execute(select(table))).all()
            found[name] = sorted(json.dumps(row._asdict(), default=str) for row in rows)
    return found


async def test_a_previous_release_database_with_work_in_it_migrates_and_runs_on(
    engine_factory: EngineFactory, tmp_path: Path
) -> None:
    engine = engine_factory()
    await upgrade(engine, PREVIOUS_RELEASE)
    await _seed_previous_release(engine)
    before = await _snapshot(engine)

    await upgrade(engine)

    assert await current_revision(engine) == head_revision()
    assert await _snapshot(engine) == before
    # The daemon starts on it, takes the old release's pending ingest and answers ready.
    config = write_config(tmp_path, engine.url.render_as_string(hide_password=False))
    async with running_daemon(config) as daemon:
        await settle(daemon)
        ready = await daemon.client.get("/readyz")
        assert ready.status == 200
    async with engine.connect() as conn:
        ids = set((await conn.execute(select(incidents.c.id))).scalars())
    assert ids == {"pagerduty:POLD", "pagerduty:PUPGRADE"}


async def test_a_schema_newer_than_the_code_is_refused(engine_factory: EngineFactory) -> None:
    engine = engine_factory()
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))

    with pytest.raises(SchemaTooNew) as refused:
        await upgrade(engine)

    assert refused.value.found == "9999_future"
    assert refused.value.head == head_revision()


async def _stamp_future(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        await engine.dispose()


def test_serve_refuses_a_newer_schema_in_one_line(tmp_path: Path) -> None:
    # Not async: `serve` runs its own event loop. The refusal does not depend on the
    # database kind, so SQLite stands for both.
    url = sqlite_url(tmp_path / "pmhub.db")
    asyncio.run(_stamp_future(url))
    config = write_config(tmp_path, url)

    result = CliRunner().invoke(main, ["serve", "--config", str(config)])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if "could not start" in line]
    assert len(lines) == 1
    assert "9999_future" in lines[0]
    assert "newer than this pmhub knows" in lines[0]


def _schema(conn: Connection) -> dict[str, Any]:
    """Per table: columns (type, nullable, default), indexes and unique constraints."""
    found = inspect(conn)
    schema: dict[str, Any] = {}
    for table in found.get_table_names():
        schema[table] = {
            "columns": {
                c["name"]: (str(c["type"]), c["nullable"], c.get("default"))
                for c in found.get_columns(table)
            },
            "indexes": {(i["name"], tuple(i["column_names"])) for i in found.get_indexes(table)},
            "unique": {tuple(u["column_names"]) for u in found.get_unique_constraints(table)},
        }
    return schema


async def test_migrations_since_the_previous_release_are_additive(
    engine_factory: EngineFactory,
) -> None:
    """What lets replicas roll one at a time: every table, column, index and constraint the
    previous release's code uses is still there, unchanged, and nothing new is required of
    its inserts. A migration that breaks this must say "stop every replica" in the
    release notes and docs/operations.md, and change this test on purpose."""
    engine = engine_factory()
    await upgrade(engine, PREVIOUS_RELEASE)
    async with engine.connect() as conn:
        old = await conn.run_sync(_schema)
    await upgrade(engine)
    async with engine.connect() as conn:
        new = await conn.run_sync(_schema)

    for table in OLD_TABLES:
        assert old[table]["columns"].items() <= new[table]["columns"].items(), table
        assert old[table]["indexes"] <= new[table]["indexes"], table
        assert old[table]["unique"] <= new[table]["unique"], table
        added = new[table]["columns"].keys() - old[table]["columns"].keys()
        # NOT NULL with a server default (`takeovers`: 0) is filled in for an old insert.
        required = [
            c
            for c, (_, nullable, default) in new[table]["columns"].items()
            if c in added and not nullable and default is None
        ]
        assert not required, f"{table}: new NOT NULL columns {required} break old inserts"
