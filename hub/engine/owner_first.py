"""The owner hears first: other messages to a person wait for their owner DMs.

The owner's DM says the post-mortem is theirs; every other message to that person (the
booked meeting has busy invitees, no slot was found, the meeting was cancelled, a
request made later, a reminder) makes sense only after it, and matters less. They used
to race: each is due as soon as its cause happens, and they share the person's DM
channel (Slack: one post a second). In a storm with one owner that channel carries
hundreds of posts, so the owner heard of meetings before hearing they owned the
post-mortems, and the last owner DM went out only with the whole backlog (issue 16: a
storm of 100 took 2.4-2.8 times what its owner DMs alone need).

So before an effect begins, a message to a person who has an owner DM still to go out,
for this incident or another (its effect job pending or running, and nothing posted
under its key yet: an edit of a DM already posted holds nothing back), is put back:
`OwnerDmFirst`, a `Held`, retried just after the last of those DMs is due. When the
last of a person's owner DMs is recorded, the messages held for them are brought
forward at once (`release`, in the transaction recording it). A retry neither starts
the job's horizon nor leaves a ledger row behind (nothing was attempted, so it does not
look for an earlier post), and a job that was tried keeps its time when a reconcile
runs meanwhile. Outside a storm a person rarely has another owner DM to wait for, and
nothing changes. Only messages addressed to a person and carried by the owner DM's own
connector wait. A DM that will never go out ends its job (no longer planned, or dead),
and the wait with it (the fallback below).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.errors import Held
from hub.jobs.enqueue import bring_forward_waiting, like_literal, unfinished_jobs_like
from hub.jobs.kinds import EFFECT, effect_key
from hub.model.incident import Person
from hub.model.intent import Intent, IntentKind
from hub.store.db import reading
from hub.store.effects import EffectRow, get_effects

# After the DM's job is due: the DM's own run and a DM channel's pacing interval
# (Slack: one post a second), so the message follows it rather than meets it again.
AFTER_OWNER_DM_SECONDS = 1.5
# A DM under way (waiting for its channel's turn) gives no time to wait for. The DM's
# own outcome brings the messages held for it forward (`release`), in the transaction
# that records it, so this is only the fallback (the DM's job ended without posting:
# no longer planned, or dead): 1.5 s, then twice as long each time, up to a minute.
MAX_WAIT_SECONDS = 60.0


class OwnerDmFirst(Held):
    """A message to a person waits for their owner DM about the same incident.

    A `Held` (retried after exactly `retry_after`, not a failure); its own type keeps
    it apart from the vendors' 429s in the failure metrics.
    """


HOLD = OwnerDmFirst.__name__  # how a held job's `last_error` starts (the worker's)


def direct_recipients(intent: Intent) -> tuple[Person, ...]:
    """The people a message is addressed to (`recipient`, `recipients`).

    Not `channel`: that is where the incident's team talks (issue 15's routing), set on
    DMs too, which still go to the person."""
    payload = intent.payload
    found: list[Person] = []
    one = getattr(payload, "recipient", None)
    if isinstance(one, Person):
        found.append(one)
    many = getattr(payload, "recipients", None)
    if isinstance(many, tuple):
        found += [person for person in many if isinstance(person, Person)]
    return tuple(found)


def _posted(row: EffectRow | None) -> bool:
    return row is not None and row.vendor_ref is not None


class OwnerFirst:
    """Holds a message back while its recipient's owner DM is still to go out."""

    def __init__(self, engine: AsyncEngine, connector_of: Mapping[IntentKind, str]) -> None:
        self.engine = engine
        self._dm_connector = connector_of.get(IntentKind.NOTIFY_OWNER)
        # The kinds the owner DM's connector carries, the DM itself left out.
        self._kinds = frozenset(
            kind
            for kind, connector in connector_of.items()
            if connector == self._dm_connector and kind is not IntentKind.NOTIFY_OWNER
        )

    async def check(self, intent: Intent, now: datetime, *, looks: int) -> None:
        """Raise `OwnerDmFirst` when `intent` must wait for owner DMs; `looks`: how many
        times its job has run (this run included)."""
        if self._dm_connector is None or intent.kind not in self._kinds:
            return
        people = direct_recipients(intent)
        if not people:
            return
        async with reading(self.engine) as conn:
            waiting = await untold(conn, [person.key for person in people])
        if not waiting:
            return
        ahead = max(0.0, (max(waiting.values()) - now).total_seconds())
        if ahead > 0:
            wait = ahead + AFTER_OWNER_DM_SECONDS  # the last DM comes back then: just after
        else:
            wait = min(AFTER_OWNER_DM_SECONDS * 2 ** max(looks - 1, 0), MAX_WAIT_SECONDS)
        raise OwnerDmFirst(
            f"{intent.key} waits for {len(waiting)} owner DMs to go out first "
            f"({', '.join(_marker(person.key) for person in people)})",
            retry_after=wait,
        )

    async def release(self, conn: AsyncConnection, dm: Intent, *, now: datetime) -> None:
        """The owner DM `dm` went out (its outcome is being recorded on `conn`): once the
        person has no other owner DM to go out, the messages held for them are due now."""
        person = getattr(dm.payload, "owner", None)
        if not isinstance(person, Person):
            return
        if await untold(conn, [person.key], besides=effect_key(dm.key)):
            return
        pattern = f"{like_literal(HOLD)}:%{like_literal(_marker(person.key))}%"
        await bring_forward_waiting(conn, pattern, now=now)


async def untold(
    conn: AsyncConnection, person_keys: Sequence[str], *, besides: str | None = None
) -> dict[str, datetime]:
    """The owner DMs to these people still to go out, for any incident, by job key, with
    when each is due: jobs not finished whose intent has nothing posted yet (`besides`:
    a job key left out, the DM being recorded)."""
    patterns = [f"{EFFECT}:pm:%:owner:notify:{like_literal(key)}" for key in person_keys]
    waiting = await unfinished_jobs_like(conn, patterns)
    waiting.pop(besides or "", None)
    if not waiting:
        return {}
    intent_keys = {job_key: job_key.removeprefix(f"{EFFECT}:") for job_key in waiting}
    ledger = await get_effects(conn, intent_keys.values())
    return {k: due for k, due in waiting.items() if not _posted(ledger.get(intent_keys[k]))}


def _marker(person_key: str) -> str:
    """How a held job's `last_error` names a person (found again by `release`)."""
    return f"<{person_key}>"
