"""What the effect runner calls to carry out an intent: one module per port (chat, calendar,
tracker, publish), each mapping intent kinds to performers."""

from __future__ import annotations

from typing import TypeVar

from hub.errors import Permanent
from hub.model.intent import Intent, Payload

P = TypeVar("P", bound=Payload)


def payload_of(intent: Intent, expected: type[P]) -> P:
    """The intent's payload as the model this performer reads.

    The policy builds payloads typed, so a mismatch is a performer registered for the
    wrong kind: `Permanent`, since retrying cannot change it.
    """
    payload = intent.payload
    if not isinstance(payload, expected):
        raise Permanent(
            f"{intent.key}: a {intent.kind} intent carries "
            f"{type(payload).__name__}, not {expected.__name__}"
        )
    return payload
