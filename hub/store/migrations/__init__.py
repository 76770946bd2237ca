"""Alembic migration environment for pmhub (loaded by path by `hub.store.migrate`)."""
