"""What adapters return, and the defensive JSON accessors they share.

Adapters read JSON a vendor sent; a signature proves who sent it, not that every
field has the documented type. Every accessor here therefore answers "absent"
instead of raising, so an adapter on a surprising payload yields an `Ignored`
result or a smaller update, never an exception in the ingest job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.model.command import Command
from hub.model.followup_event import FollowUpFact
from hub.model.incident import Source
from hub.model.incident_record import NO_TIME, IncidentUpdate
from hub.model.vendor_status import VendorStatusFact

# The clock of a fact whose vendor timestamp is missing or unreadable: any dated
# fact beats it, and it is the same on every replay (unlike "now").
UNKNOWN_TIME = NO_TIME  # the model's "no time given"


@dataclass(frozen=True)
class Ignored:
    """Nothing to act on; the ingest job logs it once per event type."""

    event_type: str | None
    reason: str


@dataclass(frozen=True)
class RefetchRequest:
    """The delivery only named something; ask the vendor's API for its current state."""

    source: Source
    resource: str  # "incident" | "follow_up" | "postmortem_document"
    id: str
    event_type: str | None = None


AdapterResult = (
    IncidentUpdate | RefetchRequest | FollowUpFact | VendorStatusFact | Command | Ignored
)


def load_json(body: bytes) -> object | None:
    """The decoded body, or None when it is not JSON (absurd nesting included).

    A lone surrogate (`"\\ud800"`, what a truncated emoji becomes in JavaScript's JSON)
    is valid JSON but not text any store or encoder takes: it comes back as U+FFFD, so
    an accepted delivery is a processed one.
    """
    try:
        document: object = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not _may_hold_surrogate(body):  # the common case: nothing to walk
        return document
    try:
        return _without_lone_surrogates(document)
    except RecursionError:
        return None


def _may_hold_surrogate(body: bytes) -> bool:
    """A `\\uD800`-`\\uDFFF` escape, or the raw bytes of an encoded surrogate (json.loads
    decodes bytes with `surrogatepass`), may be in the body. Three substring searches,
    each a fast scan: a regular expression over a 1 MB body costs more than the parse.
    A false alarm (`\\ud7ff`, Hangul's 0xED lead byte) only costs the walk."""
    return b"\\ud" in body or b"\\uD" in body or b"\xed" in body


def _without_lone_surrogates(value: object) -> object:
    if isinstance(value, str):
        return _replace_surrogates(value) if _has_surrogate(value) else value
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {
            _without_lone_surrogates(key): _without_lone_surrogates(item)
            for key, item in value.items()
        }
    return value


def _replace_surrogates(text_value: str) -> str:
    return "".join("\ufffd" if _SURROGATES <= ord(c) <= _SURROGATES_END else c for c in text_value)


_SURROGATES, _SURROGATES_END = 0xD800, 0xDFFF


def _has_surrogate(text_value: str) -> bool:
    try:
        text_value.encode()
    except UnicodeEncodeError:
        return True
    return False


def obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def objs(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def text(value: object) -> str | None:
    """A non-blank string, stripped; anything else is absent."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def word(value: object) -> str | None:
    """A string as is (for enum-like fields compared against known values), else None."""
    return value if isinstance(value, str) else None


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def epoch_millis(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def prefixed(value: str, prefixes: tuple[str, ...]) -> bool:
    """Whether `value` starts with one of `prefixes`, ignoring case and surrounding blanks."""
    folded = value.strip().casefold()
    return any(folded.startswith(prefix.casefold()) for prefix in prefixes if prefix)
