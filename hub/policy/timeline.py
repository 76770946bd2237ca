"""The incident's timeline, assembled from what its tools recorded. Pure.

Input: the history records the readers returned (PagerDuty's log, incident.io's activity
log, the incident's Slack channel: `hub.model.history`). Output: one ordered,
de-duplicated list of entries in the policy's time zone, each with its source, actor,
time and a link back, with the policy's noise left out (`timeline.noise`) and the key
moments flagged (pinned, or with a key reaction such as :pushpin:).

Which channel messages enter it is the policy's choice (`timeline.messages`): only the
key moments (and messages naming the Incident Commander or Scribe), or every message
that is not noise. The incident tools' own entries (triggered, acknowledged, a note,
a status update, resolved...) always do, unless their type is listed as noise.

De-duplication: a record read twice (same source and id) is one; two sources telling
the same thing within `timeline.dedupe_window` (incident.io logs a Slack pin the
channel shows too; both PagerDuty and incident.io log a PagerDuty trigger) are one,
keeping the entry with a link and the key-moment flag of either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hub.model.history import Actor, EntryKind, HistoryEntry, HistorySource
from hub.model.incident import Incident, Person
from hub.policy.durations import Elapsed
from hub.policy.schema_document import TimelineSpec

TEXT_MAX = 300
CONTAINED_MIN = 20  # a text this long found inside another's is the same message quoted
# Happenings two tools may both record: the same kind (and actor) close together is one.
LIFECYCLE = frozenset(
    {EntryKind.TRIGGERED, EntryKind.ACKNOWLEDGED, EntryKind.RESOLVED, EntryKind.ESCALATED}
)
# The order entries of the same second are shown in: the incident tool, then the chat.
SOURCE_ORDER = {HistorySource.PAGERDUTY: 0, HistorySource.INCIDENT_IO: 1, HistorySource.SLACK: 2}
_SLACK_TOKEN = re.compile(r"<([^<>]+)>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime  # in the policy's time zone
    source: HistorySource
    kind: EntryKind
    actor: str | None  # as people read it: a name, else an email or a handle
    text: str  # one line of Markdown
    link: str | None
    key_moment: bool = False


class People:
    """Who is who across the tools: email first, then the Slack id pmhub looked up."""

    def __init__(self, incident: Incident, slack_ids: Mapping[str, str], actors: Iterable[Actor]):
        self._by_slack: dict[str, Person] = {}
        self._names: dict[str, str] = {}
        for person in _incident_people(incident):
            slack = person.slack_id or (
                slack_ids.get(person.email.lower()) if person.email else None
            )
            if slack:
                self._by_slack[slack] = person.merged_with(Person(slack_id=slack))
        for email, slack in slack_ids.items():
            self._by_slack.setdefault(slack, Person(email=email, slack_id=slack))
        for actor in actors:
            if actor.vendor_id and actor.name:
                self._names.setdefault(actor.vendor_id, actor.name)

    def person(self, actor: Actor | None) -> Person | None:
        """The person behind an actor (None for bots and unknown actors)."""
        if actor is None or actor.is_bot:
            return None
        found = self._by_slack.get(actor.vendor_id or "")
        if found is not None:
            return found.merged_with(Person(name=actor.name)) if actor.name else found
        if actor.email:
            return Person(email=actor.email, name=actor.name)
        if actor.vendor_id or actor.name:
            return Person(
                name=actor.name or self._names.get(actor.vendor_id or ""), slack_id=actor.vendor_id
            )
        return None

    def key(self, actor: Actor | None) -> str | None:
        person = self.person(actor)
        return person.key if person else None

    def display(self, actor: Actor | None) -> str | None:
        if actor is None:
            return None
        person = self.person(actor)
        if person is not None:
            return (
                person.name
                or person.email
                or self._names.get(person.slack_id or "")
                or person.display
            )
        return actor.name or actor.email or actor.vendor_id

    def mentioned(self, user_id: str, label: str | None = None) -> Person:
        """The person a Slack mention `<@U123|label>` names."""
        found = self._by_slack.get(user_id)
        name = self._names.get(user_id) or label
        if found is not None:
            return found.merged_with(Person(name=name)) if name else found
        return Person(slack_id=user_id, name=name)


def _incident_people(incident: Incident) -> list[Person]:
    people = [
        incident.incident_commander,
        incident.reporter,
        incident.manual_trigger,
        incident.primary_oncall,
        *incident.assignees,
        *(ack.person for ack in incident.acknowledgers),
        *(responder.person for responder in incident.responders),
        *(holder.person for holder in incident.roles),
    ]
    return [p for p in people if p is not None]


def plain_line(text: str, people: People, limit: int = TEXT_MAX) -> str:
    """A vendor's text as one Markdown line: Slack's <@U1>, <#C1|name> and <url|label>
    spelt out, whitespace collapsed, a leading '#' or '-' escaped, and clipped."""

    def spell(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            person = people.mentioned(target[1:], label or None)
            return f"@{person.name or label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return f"@{label or target[1:].split('^')[0]}"
        if target.startswith(("http://", "https://", "mailto:")):
            return f"[{label}]({target})" if label else target
        return match.group(0)

    line = _SPACE.sub(" ", _SLACK_TOKEN.sub(spell, text)).strip()
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    if line[:1] in ("#", "-", "*", "+", ">"):
        line = "\\" + line
    return line


def is_noise(entry: HistoryEntry, spec: TimelineSpec) -> bool:
    """An entry the policy leaves out whatever happens (observer joins are decided later)."""
    if "pmhub" in entry.labels:
        return True  # pmhub's own posts tell the process, not the incident
    if entry.vendor_type in spec.noise.types:
        return True
    chat = entry.kind in (EntryKind.MESSAGE, EntryKind.JOINED)
    if chat and spec.noise.bots and entry.actor is not None and entry.actor.is_bot:
        return True
    return chat and any(re.search(p, entry.text) for p in spec.noise.patterns)


def is_key_moment(entry: HistoryEntry, spec: TimelineSpec) -> bool:
    return (spec.pins and entry.pinned) or any(entry.has_reaction(r) for r in spec.key_reactions)


def actors_who_acted(entries: Iterable[HistoryEntry], people: People) -> set[str]:
    """Everyone who did something besides joining: their joins are a responder's."""
    return {
        key
        for entry in entries
        if entry.kind is not EntryKind.JOINED and (key := people.key(entry.actor))
    }


def assemble_timeline(
    entries: Sequence[HistoryEntry],
    spec: TimelineSpec,
    tz: ZoneInfo,
    people: People,
    *,
    role_messages: frozenset[str] = frozenset(),
) -> tuple[TimelineEntry, ...]:
    """The document's timeline. `role_messages`: ids of messages that named a role holder
    (they are shown like key moments)."""
    unique = {(e.source, e.id): e for e in entries if not is_noise(e, spec)}
    kept = sorted(unique.values(), key=lambda e: (e.at, SOURCE_ORDER[e.source], e.id))
    acted = actors_who_acted(kept, people)
    chosen: list[tuple[HistoryEntry, bool]] = []
    for entry in kept:
        key = is_key_moment(entry, spec)
        if entry.kind is EntryKind.JOINED:
            if spec.noise.observer_joins and people.key(entry.actor) not in acted:
                continue
        elif _left_out(entry, spec, key=key or entry.id in role_messages):
            continue
        chosen.append((entry, key))
    window = spec.dedupe_window
    seconds = window.delta.total_seconds() if isinstance(window, Elapsed) else 0.0
    merged = _dedupe(chosen, seconds, people)
    return tuple(_shown(entry, key, tz, people) for entry, key in merged)


def _left_out(entry: HistoryEntry, spec: TimelineSpec, *, key: bool) -> bool:
    """A channel message that is not a key moment, when only key moments are wanted."""
    chat = entry.kind is EntryKind.MESSAGE and entry.source is HistorySource.SLACK
    return chat and spec.messages == "key_moments" and not key


def _dedupe(
    chosen: list[tuple[HistoryEntry, bool]], seconds: float, people: People
) -> list[tuple[HistoryEntry, bool]]:
    result: list[tuple[HistoryEntry, bool]] = []
    for entry, key in chosen:
        twin = _twin(result, entry, seconds, people)
        if twin is None:
            result.append((entry, key))
            continue
        earlier, earlier_key = result[twin]
        keep = earlier if earlier.link or not entry.link else entry
        result[twin] = (keep, key or earlier_key)
    return result


def _twin(
    kept: list[tuple[HistoryEntry, bool]], entry: HistoryEntry, seconds: float, people: People
) -> int | None:
    """The index of an entry of another source telling the same, close enough in time."""
    for index in range(len(kept) - 1, -1, -1):
        earlier = kept[index][0]
        if (entry.at - earlier.at).total_seconds() > seconds:
            return None
        if earlier.source is not entry.source and _same_thing(earlier, entry, people):
            return index
    return None


def _same_thing(a: HistoryEntry, b: HistoryEntry, people: People) -> bool:
    if a.kind in LIFECYCLE and a.kind is b.kind:
        ka, kb = people.key(a.actor), people.key(b.actor)
        return ka is None or kb is None or ka == kb
    text_a, text_b = _fold(a.text), _fold(b.text)
    contained = len(text_a) >= CONTAINED_MIN and text_a in text_b
    return bool(text_a) and (text_a == text_b or contained)


def _fold(text: str) -> str:
    return _SPACE.sub(" ", _SLACK_TOKEN.sub("", text)).strip().casefold()


def _shown(entry: HistoryEntry, key: bool, tz: ZoneInfo, people: People) -> TimelineEntry:
    text = plain_line(entry.text, people) or entry.vendor_type.replace("_", " ")
    detail = plain_line(entry.detail or "", people, limit=TEXT_MAX // 2)
    described = (EntryKind.ANNOTATED, EntryKind.STATUS_UPDATE, EntryKind.REQUESTED)
    if detail and entry.kind in described and detail.casefold() not in text.casefold():
        text = f"{text}: {detail}"
    return TimelineEntry(
        at=entry.at.astimezone(tz),
        source=entry.source,
        kind=entry.kind,
        actor=people.display(entry.actor),
        text=text,
        link=entry.link,
        key_moment=key,
    )
