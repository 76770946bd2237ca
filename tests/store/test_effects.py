"""The effects ledger: pending before the vendor call, done with the vendor's id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.effects import (
    EffectNotFound,
    EffectState,
    begin_effect,
    complete_effect,
    fail_effect,
    get_effect,
    get_effects,
    list_effects,
)
from tests.store.helpers import T0


async def test_begin_creates_once_then_returns_the_existing_row(engine: AsyncEngine) -> None:
    started = await begin_effect(engine, "pm:1:meeting", "calendar.event", "h1", now=T0)
    first = started.row
    assert started.created
    assert (first.state, first.vendor_ref, first.intent_hash) == (EffectState.PENDING, None, "h1")
    later = T0 + timedelta(minutes=1)
    await complete_effect(engine, "pm:1:meeting", "evt-123", {"html_link": "x"}, now=later)
    restarted = await begin_effect(engine, "pm:1:meeting", "calendar.event", "h2", now=later)
    again = restarted.row
    assert not restarted.created
    assert not restarted.earlier_attempt_unfinished  # done: nothing is in doubt
    assert (again.state, again.vendor_ref, again.intent_hash) == (EffectState.DONE, "evt-123", "h1")
    assert again.detail == {"html_link": "x"}
    assert (again.created_at, again.updated_at) == (T0, later)


async def test_a_pending_row_made_earlier_is_an_unfinished_attempt_even_at_the_same_instant(
    engine: AsyncEngine,
) -> None:
    # A clock that stands still (tests, a frozen sandbox) must not hide an earlier attempt.
    await begin_effect(engine, "pm:1:dm", "slack.dm", "h", now=T0)
    again = await begin_effect(engine, "pm:1:dm", "slack.dm", "h", now=T0)
    assert not again.created
    assert again.earlier_attempt_unfinished


async def test_fail_records_the_reason(engine: AsyncEngine) -> None:
    await begin_effect(engine, "pm:1:ticket", "jira.issue", "h", now=T0)
    failed = await fail_effect(engine, "pm:1:ticket", "project does not exist", now=T0)
    assert (failed.state, failed.error) == (EffectState.FAILED, "project does not exist")
    stored = await get_effect(engine, "pm:1:ticket")
    assert stored == failed


async def test_unknown_keys(engine: AsyncEngine) -> None:
    assert await get_effect(engine, "nope") is None
    with pytest.raises(EffectNotFound, match="nope"):
        await complete_effect(engine, "nope", "ref")
    with pytest.raises(EffectNotFound):
        await fail_effect(engine, "nope", "why")


async def test_list_by_prefix_escapes_wildcards(engine: AsyncEngine) -> None:
    for key in ("pm:1:meeting", "pm:1:followup:0:ticket", "pm:10:meeting", "pm%1:x"):
        await begin_effect(engine, key, "k", "h", now=T0)
    keys = [e.key for e in await list_effects(engine, "pm:1:")]
    assert keys == ["pm:1:followup:0:ticket", "pm:1:meeting"]
    assert [e.key for e in await list_effects(engine, "pm%")] == ["pm%1:x"]
    assert len(await list_effects(engine)) == 4


async def test_get_effects_reads_many_keys_at_once(engine: AsyncEngine) -> None:
    for key in ("pm:1:meeting", "pm:1:owner:announce", "pm:2:meeting"):
        await begin_effect(engine, key, "k", f"h-{key}", now=T0)
    await complete_effect(engine, "pm:1:meeting", "evt-1", now=T0)

    found = await get_effects(engine, ["pm:1:meeting", "pm:1:owner:announce", "pm:1:nope"])

    assert set(found) == {"pm:1:meeting", "pm:1:owner:announce"}
    assert found["pm:1:meeting"].state is EffectState.DONE
    assert found["pm:1:meeting"].vendor_ref == "evt-1"
    assert found["pm:1:owner:announce"] == await get_effect(engine, "pm:1:owner:announce")
    assert await get_effects(engine, []) == {}
