"""The `queue` fixture: a JobQueue on the test's migrated engine, closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.jobs.queue import JobQueue


@pytest.fixture
async def queue(engine: AsyncEngine) -> AsyncIterator[JobQueue]:
    made = JobQueue(engine)
    yield made
    await made.close()
