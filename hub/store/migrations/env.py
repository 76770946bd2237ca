"""Alembic environment: runs on the connection `hub.store.migrate` hands over.

There is no alembic.ini and no URL here on purpose: `hub.store.migrate.upgrade`
opens the connection (and, on PostgreSQL, takes the advisory lock) and passes it
in `config.attributes["connection"]`, so migrations run inside that transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from hub.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise TypeError(
            "pmhub migrations run through hub.store.migrate (pmhub migrate), "
            "which provides the database connection"
        )
    _run(connection)


_main()
