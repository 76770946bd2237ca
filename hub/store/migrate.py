"""Apply and inspect schema migrations (Alembic, configured in code).

There is no alembic.ini: the config is built here with `script_location` set to
the installed package's `migrations` directory, so `pmhub migrate` works from a
wheel and from any working directory.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.db import is_postgres

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number works; it only has to be the same for every replica.
ADVISORY_LOCK_KEY = 0x706D6875625F6462  # "pmhub_db"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, optionally bound."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer pmhub than this one; running on it could
    corrupt what that version wrote, so this one refuses to start."""

    def __init__(self, found: str, head: str) -> None:
        super().__init__(
            f"the database schema is at revision {found!r}, newer than this pmhub knows "
            f"(its newest is {head!r}); run the pmhub version that migrated it (or newer)"
        )
        self.found = found
        self.head = head


def known_revisions() -> set[str]:
    """Every revision this build of pmhub ships."""
    script = ScriptDirectory.from_config(alembic_config())
    return {revision.revision for revision in script.walk_revisions()}


def head_revision() -> str:
    """The newest revision this build of pmhub knows about."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (idempotent).

    Refuses (`SchemaTooNew`) a database at a revision this build does not know: one a
    newer pmhub migrated. `pmhub serve` then says so in one line and exits non-zero.

    The whole upgrade runs in one transaction. On PostgreSQL it first takes a
    transaction-scoped advisory lock, so replicas starting together queue up:
    the first migrates, the others then find nothing to do. (PostgreSQL DDL is
    transactional, so a failed migration leaves no half-built schema.)
    """
    async with engine.begin() as conn:
        if is_postgres(conn):
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        await conn.run_sync(_upgrade_sync, revision)


def _upgrade_sync(connection: Connection, revision: str) -> None:
    # Checked first: Alembic's own error for an unknown revision is a traceback-shaped
    # "Can't locate revision", which does not say that the database is simply newer.
    found = _current_sync(connection)
    if found is not None and found not in known_revisions():
        raise SchemaTooNew(found, head_revision())
    command.upgrade(alembic_config(connection), revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current_sync)


def _current_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at this build's head revision (used by /readyz)."""
    return await current_revision(engine) == head_revision()
