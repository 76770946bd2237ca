"""Database size after months of deliveries, with and without retention (issue 12).

`python -m tests.bench.retention_size` (what `make retention-size` runs) simulates
100,000 webhook deliveries arriving evenly over 200 days (500 a day), on two fresh
databases of each kind: one where the retention timer runs daily with the default
horizons (`retention:` in pmhub.yaml), one where it never runs. Per delivery it
stores what the daemon stores: the raw delivery (a real PagerDuty V3 webhook body,
2.4 kB), its ingest job and a reconcile job, both done; per ten deliveries (one
incident's worth) five done effects with a payload and five audit entries.

Rows are written in bulk through the tables (the daemon's write path is measured by
`make bench`); retention is the real `apply_retention`. PostgreSQL gets a plain
VACUUM after each simulated day, as autovacuum would, so freed space is reused;
SQLite reuses freed pages by itself. Sizes: the SQLite file (after a WAL
checkpoint), `pg_database_size` for PostgreSQL.

The figures are written into RELIABILITY.md between the retention markers (the rest of
that file belongs to `make chaos`). PostgreSQL is skipped, with a note, when
PMHUB_TEST_POSTGRES_URL (or --postgres) does not reach a server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.config.retention import RetentionSettings
from hub.store.db import asyncpg_dsn, create_engine, is_postgres
from hub.store.migrate import upgrade
from hub.store.retention import apply_retention
from hub.store.tables import audit, effects, inbox, jobs

ROOT = Path(__file__).resolve().parents[2]
BODY = (
    ROOT / "tests/fixtures/pagerduty_webhook_examples/envelope_incident.priority_updated.json"
).read_bytes()
BEGIN, END = "<!-- retention:begin -->", "<!-- retention:end -->"
START = datetime(2026, 1, 1, tzinfo=UTC)
EFFECT_DETAIL = {"channel": "C0INCIDNTS", "text": "x" * 400, "blocks": [{"type": "section"}]}


@dataclass(frozen=True)
class Outcome:
    database: str
    retention: bool
    size_bytes: int
    rows: dict[str, int]


async def _load_day(engine: AsyncEngine, day: int, per_day: int) -> None:
    at = START + timedelta(days=day)
    base = day * per_day
    deliveries = [
        {
            "source": "pagerduty",
            "delivery_id": f"d{base + i}",
            "event_type": "incident.priority_updated",
            "headers": {"X-Webhook-Id": f"d{base + i}"},
            "body": BODY,
            "received_at": at,
            "processed_at": at,
        }
        for i in range(per_day)
    ]
    done = {"state": "done", "run_at": at, "attempts": 1, "created_at": at, "updated_at": at}
    job_rows = [
        {"kind": kind, "payload": {"n": base + i}, "finished_at": at, **done}
        for i in range(per_day)
        for kind in ("ingest", "reconcile")
    ]
    incidents = per_day // 10
    effect_rows = [
        {
            "key": f"digest:{base + i}:{n}",  # no open post-mortem holds them
            "kind": "chat_post",
            "state": "done",
            "vendor_ref": "1700000000.000100",
            "intent_hash": "h" * 64,
            "detail": EFFECT_DETAIL,
            "created_at": at,
            "updated_at": at,
        }
        for i in range(incidents)
        for n in range(5)
    ]
    audit_rows = [
        {"at": at, "subject": f"pm:{base + i}", "action": "a", "actor": "pmhub", "reason": "r"}
        | {"detail": {"rule": "meeting"}}
        for i in range(incidents)
        for _ in range(5)
    ]
    async with engine.begin() as conn:
        for table, rows in ((inbox, deliveries), (jobs, job_rows), (effects, effect_rows)):
            await conn.execute(insert(table), rows)
        await conn.execute(insert(audit), audit_rows)


async def _postgres_size(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(text("SELECT pg_database_size(current_database())"))
        return int(found.scalar_one())


def _sqlite_size(path: Path) -> int:
    """The file's size once the write-ahead log is folded in (pmhub closed)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def _vacuum(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(make_url(url)))
    try:
        await conn.execute("VACUUM")
    finally:
        await conn.close()


async def simulate(
    url: str, *, retention: bool, deliveries: int, days: int, sqlite_file: Path | None = None
) -> Outcome:
    engine = create_engine(url)
    horizons = RetentionSettings().horizons()
    try:
        await upgrade(engine)
        per_day = deliveries // days
        for day in range(days):
            await _load_day(engine, day, per_day)
            if retention:
                now = START + timedelta(days=day + 1)
                await apply_retention(engine, horizons, now=now, batch_size=1000)
            if is_postgres(engine):
                await _vacuum(url)
        rows: dict[str, int] = {}
        async with engine.connect() as conn:
            for table in (inbox, jobs, effects, audit):
                count = await conn.execute(select(func.count()).select_from(table))
                rows[table.name] = int(count.scalar_one())
        size = await _postgres_size(engine) if is_postgres(engine) else 0
    finally:
        await engine.dispose()
    if sqlite_file is not None:
        size = _sqlite_size(sqlite_file)
    name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    return Outcome(name, retention, size, rows)


async def _postgres_database(server_url: str) -> str | None:
    server = make_url(server_url)
    name = f"pmhub_retention_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(asyncpg_dsn(server))
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.set(database=name).render_as_string(hide_password=False)


async def _drop_postgres(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(asyncpg_dsn(parsed.set(database="postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await admin.close()


async def run_all(deliveries: int, days: int, postgres: str | None) -> tuple[list[Outcome], str]:
    outcomes: list[Outcome] = []
    note = ""
    with tempfile.TemporaryDirectory() as scratch:
        for retention in (False, True):
            path = Path(scratch) / f"pmhub-{retention}.db"
            outcomes.append(
                await simulate(
                    f"sqlite+aiosqlite:///{path}",
                    retention=retention,
                    deliveries=deliveries,
                    days=days,
                    sqlite_file=path,
                )
            )
    for retention in (False, True):
        url = await _postgres_database(postgres) if postgres else None
        if url is None:
            note = "PostgreSQL: not measured (no server at PMHUB_TEST_POSTGRES_URL)."
            break
        try:
            outcomes.append(
                await simulate(url, retention=retention, deliveries=deliveries, days=days)
            )
        finally:
            await _drop_postgres(url)
    return outcomes, note


def render(outcomes: list[Outcome], deliveries: int, days: int, note: str) -> str:
    defaults = RetentionSettings()
    lines = [
        "## Retention",
        "",
        f"{deliveries:,} webhook deliveries over {days} days ({deliveries // days:,} a day), "
        "each with its ingest and reconcile jobs; per ten, five done effects with a payload "
        "and five audit entries (`python -m tests.bench.retention_size`). Retention with the "
        f"defaults (inbox {defaults.inbox_days:g} d, jobs {defaults.jobs_days:g} d, dead "
        f"jobs {defaults.dead_jobs_days:g} d, effect payloads "
        f"{defaults.effect_payload_days:g} d, audit {defaults.audit_days:g} d), run daily.",
        "",
        "| database | retention | size | inbox rows | job rows | effects | audit rows |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        r = o.rows
        lines.append(
            f"| {o.database} | {'on' if o.retention else 'off'} | "
            f"{o.size_bytes / 1_000_000:,.1f} MB | {r['inbox']:,} | {r['jobs']:,} | "
            f"{r['effects']:,} | {r['audit']:,} |"
        )
    lines += [
        "",
        "Effects keep their rows (the key is what makes an effect happen once); retention "
        "empties the payload of done ones. Without retention the size grows with every "
        "delivery; with it, it levels off at about the horizon's worth of deliveries. "
        "200 days are within the audit's horizon, so every audit entry is still there. "
        "PostgreSQL's size includes the 7 to 8 MB of an empty database, and it compresses "
        "the delivery bodies (TOAST), which SQLite stores as they came.",
    ]
    if note:
        lines += ["", note]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Put `section` between the retention markers, leaving the rest of the file alone."""
    block = f"{BEGIN}\n{section}\n{END}"
    current = path.read_text() if path.exists() else "# Reliability\n"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("PMHUB_TEST_POSTGRES_URL"))
    parser.add_argument("--write", type=Path, default=ROOT / "RELIABILITY.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    outcomes, note = asyncio.run(run_all(args.deliveries, args.days, args.postgres))
    section = render(outcomes, args.deliveries, args.days, note)
    print(section)
    if not args.no_write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
