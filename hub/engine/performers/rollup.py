"""Below the floor: a storm's announcements share roll-up messages (issue 16).

Slack carries about one post a second per channel, so N post-mortems announced one
post each hold the incidents channel for N seconds, and everything queued behind
them waits. When more announcements are waiting than the channel can carry in a
minute (`threshold`, counted across replicas in the job queue), each further
announcement becomes a line of a roll-up: one message per `rollup_max_lines`
post-mortems, edited in place. Its line is kept true the way a post-mortem's own
announcement is: a changed intent is re-run with the ledger's `rollup` detail and
edits its line. Below the threshold nothing changes.

Exactly once: the announcement's effect is done only once a posted or edited
roll-up message shows its line. The roll-up is a row of the effects ledger
(`hub.store.rollups`): written (with `posting` set) before the post, so a crash
or another replica finds it and looks for the post by its key rather than post a
second. Group commit: a job adds its line, then takes the roll-up's flush lock; if
someone else's edit already showed its line it is done without a call, so a storm
costs one chat.update per edit interval, not one per line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.engine.effects import EffectOutcome, EffectRequest
from hub.errors import Permanent, RateLimited
from hub.model.intent import AnnounceOwner
from hub.ports.rollup import AnnouncementRollups
from hub.store.db import utcnow
from hub.store.rollups import (
    Rollup,
    latest_rollup,
    load_rollup,
    rollup_holding,
    rollup_lock,
    save_rollup,
    try_rollup_lock,
    waiting_announcements,
)

log = structlog.get_logger("pmhub.rollup")

# Slack: one post a second per channel, so a minute carries 60.
DEFAULT_THRESHOLD = 60
EDIT_WAIT_SECONDS = 2.5  # the edit under way, then the next (1.2 s apart)
LINGER = timedelta(minutes=1)


class AwaitingRollupEdit(RateLimited):
    """The line is in its roll-up; another job's edit is under way and the next shows it.

    A `RateLimited` (chat.update's pace is what it waits for), so the job is retried
    after `retry_after` without counting as a failure and gives its worker slot back
    meanwhile; its own type keeps it apart from Slack's 429s in the failure metrics.
    """


def rollup_threshold(post_interval_seconds: float) -> int:
    """What one channel carries in a minute at the configured post interval."""
    if post_interval_seconds <= 0:
        return DEFAULT_THRESHOLD  # unpaced (tests): the vendor's own one a second
    return max(1, round(60 / post_interval_seconds))


def should_coalesce(waiting: int, threshold: int, *, storm_lingers: bool = False) -> bool:
    """More announcements waiting than the channel carries in a minute; or a storm's
    roll-up took a line within the last minute (its tail joins it rather than
    queueing a minute of single posts behind it)."""
    return waiting > threshold or (storm_lingers and waiting > 0)


@dataclass
class AnnouncementCoalescer:
    engine: AsyncEngine
    threshold: int = DEFAULT_THRESHOLD
    # A line that another job's edit is about to show comes back after this long
    # (chat.update's pace is 1.2 s) instead of holding a worker slot meanwhile.
    edit_wait_seconds: float = EDIT_WAIT_SECONDS
    linger: timedelta = LINGER
    clock: Callable[[], datetime] = utcnow

    async def announce(
        self, rollups: AnnouncementRollups, request: EffectRequest, payload: AnnounceOwner
    ) -> EffectOutcome | None:
        """The announcement as a roll-up line; None when it is to be posted on its own."""
        channel = rollups.rollup_channel(request.incident)
        if channel is None:
            return None
        key = request.intent.key
        held_in = request.earlier_detail.get("rollup")
        if not isinstance(held_in, str):
            if request.earlier_ref is not None:
                return None  # it has a message of its own: that is edited, as ever
            if request.unknown_outcome:
                # An earlier attempt may have put the line in a roll-up already.
                held_in = await rollup_holding(self.engine, channel, key)
            if held_in is None:
                if request.unknown_outcome:
                    return None  # it may have been posted on its own: that path looks
                waiting = await waiting_announcements(self.engine)
                # The roll-up's age is read only when it could decide (a quiet day: never).
                lingers = 0 < waiting <= self.threshold and await self._lingers(channel)
                if not should_coalesce(waiting, self.threshold, storm_lingers=lingers):
                    return None
        line = await rollups.announcement_line(
            request.incident,
            request.postmortem,
            payload.owner,
            deadline=payload.deadline,
            previous_owner=payload.previous_owner,
        )
        placed = await self._place(channel, key, line, held_in, rollups.rollup_max_lines)
        if placed is None:
            return None  # its roll-up is gone (retention): tell it on its own
        ref = await self._show(rollups, placed)
        detail = {"rollup": placed.key, "message": ref, "edited": held_in is not None}
        return EffectOutcome(vendor_ref=ref, detail=detail)

    async def _lingers(self, channel: str) -> bool:
        latest = await latest_rollup(self.engine, channel)
        touched = latest.updated_at if latest is not None else None
        return touched is not None and self.clock() - touched < self.linger

    async def _place(
        self, channel: str, key: str, line: str, held_in: str | None, max_lines: int
    ) -> Rollup | None:
        """Write the line into its roll-up (the newest with room, or the one holding it)."""
        async with rollup_lock(self.engine, f"rollup:{channel}"):
            if held_in is not None:
                target = await load_rollup(self.engine, held_in)
                if target is None:
                    return None
            else:
                target = await latest_rollup(self.engine, channel)
                if target is None or len(target.lines) >= max_lines:
                    target = Rollup.opened(channel, target.seq + 1 if target else 1)
            placed = target.with_line(key, line)
            if placed is not target:
                await save_rollup(self.engine, placed)
            return placed

    async def _show(self, rollups: AnnouncementRollups, placed: Rollup) -> str:
        """Make the roll-up message show at least `placed.version`; its reference.

        One job at a time edits a roll-up. Another finding it busy hands its worker
        slot back (`AwaitingRollupEdit`: retried after `edit_wait_seconds`, not counted as a
        failure) rather than wait for the edit pace: on its retry, the edit made
        meanwhile shows its line, or it makes the next one itself.
        """
        async with try_rollup_lock(self.engine, f"{placed.key}/flush") as mine:
            current = await load_rollup(self.engine, placed.key)
            if current is None:
                raise LookupError(f"roll-up {placed.key} vanished while in use")
            if current.shown >= placed.version and current.ref is not None:
                return current.ref
            if not mine:
                raise AwaitingRollupEdit(
                    f"roll-up {placed.key} is being edited; its line waits for the next edit",
                    retry_after=self.edit_wait_seconds,
                )
            return await self._flush(rollups, current)

    async def _flush(self, rollups: AnnouncementRollups, current: Rollup) -> str:
        """Post or edit the roll-up to show every line it holds now (flush lock held)."""
        lines = list(current.lines.values())
        if current.ref is None:
            if not current.posting:
                await self._update(current, posting=True)
            ref = await rollups.post_rollup(
                current.channel,
                lines,
                effect_key=current.key,
                unknown_outcome=current.posting,
            )
            if current.posting:
                # Found (or posted) after an interrupted attempt: bring it up to date.
                ref = await rollups.update_rollup(ref, lines)
        else:
            try:
                ref = await rollups.update_rollup(current.ref, lines)
            except Permanent:
                # Deleted, or no longer editable: the lines are still owed to the
                # channel, so the roll-up is posted again (as `_kept` does for one).
                ref = await rollups.post_rollup(
                    current.channel, lines, effect_key=current.key, unknown_outcome=False
                )
        await self._update(current, ref=ref, shown=current.version)
        log.info("rollup.shown", rollup=current.key, lines=len(lines))
        return ref

    async def _update(
        self,
        rollup: Rollup,
        *,
        ref: str | None = None,
        shown: int | None = None,
        posting: bool | None = None,
    ) -> None:
        """Change the roll-up's delivery state, keeping lines other jobs added meanwhile."""
        async with rollup_lock(self.engine, f"rollup:{rollup.channel}"):
            current = await load_rollup(self.engine, rollup.key)
            if current is None:
                raise LookupError(f"roll-up {rollup.key} vanished while in use")
            changed = replace(
                current,
                ref=ref if ref is not None else current.ref,
                shown=max(current.shown, shown) if shown is not None else current.shown,
                posting=posting if posting is not None else current.posting,
            )
            await save_rollup(self.engine, changed)
