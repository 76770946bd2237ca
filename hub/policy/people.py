"""Who responded, who led and who wrote it down, the links worth keeping, the TODOs. Pure.

Seed 004: "go through the history in Slack to identify the responders … Identify the
Incident Commander and Scribe", "add a link to the incident call recording", "go
through the history in Slack to identify any TODO items". `assemble` does that, with
the timeline (`hub.policy.timeline`), from the records the readers returned.

The Incident Commander and the Scribe are found in this order (`timeline.commander`,
`timeline.scribe`): a role the incident tool holds (incident.io roles, PagerDuty
incident roles), a role assigned in its log, a PagerDuty responder request whose
message names the role ("please join as Scribe"), a channel message matching one of
the policy's patterns ("I'm the IC", "scribe: @bob"); for the commander, last, the one
pmhub already knows (the first acknowledger, for PagerDuty).

TODOs become *candidates*: offered to the owner with a button each, never filed
without a person.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from hub.model.document import CandidateFollowUp
from hub.model.history import EntryKind, HistoryEntry, HistorySource
from hub.model.incident import Incident, Person
from hub.policy.schema_document import RoleSpec, TimelineSpec
from hub.policy.timeline import (
    People,
    TimelineEntry,
    actors_who_acted,
    assemble_timeline,
    is_noise,
    plain_line,
)

COMMANDER, SCRIBE = "Incident Commander", "Scribe"
# Calls and their recordings, whatever the policy adds (`timeline.links`).
BUILT_IN_LINKS = (
    ("Call recording", r"https://[\w.-]*zoom\.us/rec/\S+"),
    ("Call", r"https://[\w.-]*zoom\.us/(?:j|my)/\S+"),
    ("Call", r"https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}\S*"),
)
_URL = re.compile(r"https?://[^\s<>|]+")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")


@dataclass(frozen=True)
class History:
    """What the readers returned for one incident (the engine reads; this assembles)."""

    entries: tuple[HistoryEntry, ...] = ()
    read: tuple[str, ...] = ()  # the sources read, e.g. ("pagerduty", "slack")
    cut: tuple[str, ...] = ()  # the sources the policy's cap cut short
    unread: tuple[str, ...] = ()  # sources that could not be read, with why
    slack_ids: Mapping[str, str] = field(default_factory=dict)  # email -> Slack user id


@dataclass(frozen=True, slots=True)
class RoleFound:
    role: str
    person: Person
    how: str  # where it was found, for people to check
    link: str | None = None


@dataclass(frozen=True, slots=True)
class ResponderFound:
    person: Person
    joined_at: datetime | None
    first_action_at: datetime | None
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LinkFound:
    name: str
    url: str
    at: datetime | None = None
    source_link: str | None = None  # the message it was found in


@dataclass(frozen=True)
class Assembled:
    timeline: tuple[TimelineEntry, ...]
    responders: tuple[ResponderFound, ...]
    commander: RoleFound | None
    scribe: RoleFound | None
    links: tuple[LinkFound, ...]
    candidates: tuple[CandidateFollowUp, ...]
    read: tuple[str, ...]
    cut: tuple[str, ...]
    unread: tuple[str, ...]


def assemble(history: History, incident: Incident, spec: TimelineSpec, tz: ZoneInfo) -> Assembled:
    entries = [e for e in history.entries if not is_noise(e, spec)]
    people = People(incident, history.slack_ids, (e.actor for e in history.entries if e.actor))
    messages = sorted(
        (e for e in entries if e.source is HistorySource.SLACK and e.kind is EntryKind.MESSAGE),
        key=lambda e: e.at,
    )
    commander, commander_message = find_role(COMMANDER, spec.commander, incident, entries, people)
    if commander is None and incident.incident_commander is not None:
        commander = RoleFound(COMMANDER, incident.incident_commander, "the first acknowledger")
    scribe, scribe_message = find_role(SCRIBE, spec.scribe, incident, entries, people)
    role_messages = frozenset(m for m in (commander_message, scribe_message) if m)
    found_roles = [r for r in (commander, scribe) if r is not None]
    return Assembled(
        timeline=assemble_timeline(history.entries, spec, tz, people, role_messages=role_messages),
        responders=responders(entries, incident, people, spec, tz=tz, roles=found_roles),
        commander=commander,
        scribe=scribe,
        links=find_links(messages, incident, spec, tz),
        candidates=harvest_todos(messages, spec, people, tz),
        read=history.read,
        cut=history.cut,
        unread=history.unread,
    )


# -- roles ---------------------------------------------------------------------------


def _folded(name: str) -> str:
    return re.sub(r"[\s_-]+", " ", name).strip().casefold()


def find_role(
    role: str,
    spec: RoleSpec,
    incident: Incident,
    entries: Sequence[HistoryEntry],
    people: People,
) -> tuple[RoleFound | None, str | None]:
    """Who held `role`, and the id of the channel message that said so (if one did)."""
    wanted = {_folded(name) for name in spec.roles}
    tool = incident.source.value
    for holder in incident.roles:
        if _folded(holder.role) in wanted:
            return RoleFound(role, holder.person, f"the {holder.role} role in {tool}"), None
    ordered = sorted(entries, key=lambda e: e.at)
    assigned = [
        e
        for e in ordered
        if e.kind is EntryKind.ROLE_ASSIGNED and e.detail and _folded(e.detail) in wanted
    ]
    for entry in reversed(assigned):  # the latest assignment stands
        if person := people.person(entry.subject):
            return RoleFound(role, person, f"assigned in {entry.source.value}", entry.link), None
    words = [re.compile(rf"(?i)(?<!\w){re.escape(name)}(?!\w)") for name in spec.roles]
    requests = [e for e in ordered if e.kind is EntryKind.REQUESTED]
    for entry in requests:
        named = any(w.search(entry.detail or "") for w in words)
        if named and (person := people.person(entry.subject)):
            how = "a PagerDuty responder request"
            return RoleFound(role, person, how, entry.link), None
    for entry in ordered:
        if entry.source is not HistorySource.SLACK or entry.kind is not EntryKind.MESSAGE:
            continue
        for pattern in spec.slack:
            match = re.search(pattern, entry.text)
            if match is None:
                continue
            person = _named(match, entry, people)
            if person is not None:
                return RoleFound(role, person, "a message in the channel", entry.link), entry.id
    return None, None


def _named(match: re.Match[str], entry: HistoryEntry, people: People) -> Person | None:
    who = match.groupdict().get("who")
    mention = _MENTION.search(who or "")
    if mention is not None:
        return people.mentioned(mention.group(1), mention.group(2))
    return people.person(entry.actor)


# -- responders ----------------------------------------------------------------------


def responders(
    entries: Sequence[HistoryEntry],
    incident: Incident,
    people: People,
    spec: TimelineSpec,
    *,
    tz: ZoneInfo,
    roles: Sequence[RoleFound],
) -> tuple[ResponderFound, ...]:
    """Everyone who joined and acted (observers who only joined are left out, when the
    policy says so), when they joined and first acted, with the roles they held."""
    joined: dict[str, datetime] = {}
    acted: dict[str, datetime] = {}
    found: dict[str, Person] = {}

    def note(person: Person | None, at: datetime | None, into: dict[str, datetime]) -> None:
        if person is None:
            return
        key = person.key
        found[key] = found[key].merged_with(person) if key in found else person
        if at is not None and (key not in into or at < into[key]):
            into[key] = at

    for entry in entries:
        actor = people.person(entry.actor)
        if entry.kind is EntryKind.JOINED:
            note(actor or people.person(entry.subject), entry.at, joined)
            continue
        note(actor, entry.at, acted)
        if entry.kind in (EntryKind.ASSIGNED, EntryKind.ROLE_ASSIGNED):
            note(people.person(entry.subject), entry.at, joined)
    for ack in incident.acknowledgers:
        note(ack.person, ack.at, acted)
    for responder in incident.responders:
        note(responder.person, responder.joined_at, joined)
    for holder in roles:
        note(holder.person, None, acted)
    observers = set(joined) - set(acted) - actors_who_acted(entries, people)
    held = {r.person.key: r.role for r in roles}
    result = [
        ResponderFound(
            person=person,
            joined_at=_local(joined.get(key), tz),
            first_action_at=_local(acted.get(key), tz),
            roles=tuple(r.role for r in roles if r.person.key == key) if key in held else (),
        )
        for key, person in found.items()
        if not (spec.noise.observer_joins and key in observers)
    ]
    return tuple(sorted(result, key=_responder_order))


def _responder_order(responder: ResponderFound) -> tuple[float, str]:
    first = [t for t in (responder.joined_at, responder.first_action_at) if t is not None]
    return (min(t.timestamp() for t in first) if first else float("inf"), responder.person.key)


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz) if moment is not None else None


# -- links and TODOs -----------------------------------------------------------------


def find_links(
    messages: Sequence[HistoryEntry], incident: Incident, spec: TimelineSpec, tz: ZoneInfo
) -> tuple[LinkFound, ...]:
    patterns = [(s.name, s.pattern) for s in spec.links] + list(BUILT_IN_LINKS)
    found: dict[str, LinkFound] = {}
    if incident.links.conference_url:
        found[incident.links.conference_url] = LinkFound("Call", incident.links.conference_url)
    for message in messages:
        for raw in _URL.findall(message.text):
            url = raw.rstrip(".,;)")
            if url in found:
                continue
            for name, pattern in patterns:
                if re.match(pattern, url):
                    found[url] = LinkFound(name, url, message.at.astimezone(tz), message.link)
                    break
    recordings_first = sorted(found.values(), key=lambda link: link.name != "Call recording")
    return tuple(recordings_first)


def harvest_todos(
    messages: Sequence[HistoryEntry], spec: TimelineSpec, people: People, tz: ZoneInfo
) -> tuple[CandidateFollowUp, ...]:
    words = [re.compile(rf"(?i)(?<![\w-]){re.escape(w)}(?![\w-])") for w in spec.todos.words]
    found: list[CandidateFollowUp] = []
    for message in messages:
        said = any(w.search(message.text) for w in words)
        marked = any(message.has_reaction(r) for r in spec.todos.reactions)
        if not (said or marked) or people.person(message.actor) is None:
            continue
        digest = hashlib.sha256(f"{message.source.value}:{message.id}".encode()).hexdigest()
        found.append(
            CandidateFollowUp(
                id=f"todo-{digest[:10]}",
                text=plain_line(message.text, people),
                author=people.display(message.actor),
                at=message.at.astimezone(tz),
                link=message.link,
            )
        )
    return tuple(found)
