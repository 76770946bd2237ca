"""What a running daemon holds: made once at start, shared by handlers and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.engine.actions.transitions import PostMortemActions
    from hub.intake.inbox_writer import InboxWriter
    from hub.intake.verifiers import Verifier
    from hub.jobs.queue import JobQueue
    from hub.jobs.worker import Worker
    from hub.policy import PolicySet
    from hub.ports import Calendar


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    queue: JobQueue
    worker: Worker
    verifiers: dict[str, Verifier]
    inbox: InboxWriter
    actions: PostMortemActions
    policies: PolicySet
    clock: Callable[[], datetime] = utc_now
    calendar: Calendar | None = None  # the meeting calendar, when one is configured
    started_at: datetime = field(default_factory=utc_now)
