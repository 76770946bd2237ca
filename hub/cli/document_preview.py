"""`pmhub simulate --enrich`: what the post-mortem document would be pre-filled with.

For each simulated incident whose rule writes a document, the history is read from the
configured vendor APIs (read only: PagerDuty's log, incident.io's activity log, the Slack
channel) and assembled as the daemon would: the timeline, the responders with the
Incident Commander and the Scribe, the links, the TODO candidates.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import aiohttp

from hub.config import Settings
from hub.errors import ConnectorError
from hub.model.history import HistorySource
from hub.model.incident import Incident
from hub.policy import Plan, PolicySet
from hub.policy.document import SOURCE_NAMES
from hub.policy.people import Assembled, RoleFound, assemble
from hub.wiring.connectors import history_readers


async def preview(
    settings: Settings,
    policies: PolicySet,
    incidents: list[Incident],
    plans: list[Plan],
    *,
    session: aiohttp.ClientSession,
    stack: AsyncExitStack,
) -> dict[str, dict[str, Any]]:
    """Per incident id: the document's assembled contents (or why it could not be read)."""
    readers = history_readers(settings, session, stack)
    found: dict[str, dict[str, Any]] = {}
    for incident, plan in zip(incidents, plans, strict=True):
        if plan.rule is None:
            continue
        policy, rule = policies.rule(plan.rule)
        if rule.document is None:
            continue
        spec, tz = policy.spec.timeline, policy.calendar.tz
        head = {"tool": rule.document.tool, "template": rule.document.template}
        try:
            history = await readers.read(incident, spec)
        except ConnectorError as exc:
            found[incident.id] = {**head, "error": exc.message}
            continue
        found[incident.id] = {**head, **assembled_json(assemble(history, incident, spec, tz))}
    return found


def _role(role: RoleFound | None) -> dict[str, Any] | None:
    if role is None:
        return None
    person = role.person
    return {"name": person.name, "email": person.email, "how": role.how, "link": role.link}


def assembled_json(found: Assembled) -> dict[str, Any]:
    return {
        "read": list(found.read),
        "cut": list(found.cut),
        "unread": list(found.unread),
        "timeline": [
            {
                "at": entry.at.isoformat(),
                "source": entry.source.value,
                "actor": entry.actor,
                "text": entry.text,
                "link": entry.link,
                "key_moment": entry.key_moment,
            }
            for entry in found.timeline
        ],
        "responders": [
            {
                "name": r.person.name,
                "email": r.person.email,
                "joined_at": r.joined_at.isoformat() if r.joined_at else None,
                "first_action_at": r.first_action_at.isoformat() if r.first_action_at else None,
                "roles": list(r.roles),
            }
            for r in found.responders
        ],
        "incident_commander": _role(found.commander),
        "scribe": _role(found.scribe),
        "links": [{"name": link.name, "url": link.url} for link in found.links],
        "todo_candidates": [
            {"id": c.id, "text": c.text, "author": c.author, "link": c.link}
            for c in found.candidates
        ],
    }


def human_lines(document: dict[str, Any]) -> list[str]:
    """The preview for people, indented under the incident's plan."""
    lines = [f"  document ({document['tool']}, template {document['template']}):"]
    if "error" in document:
        return [*lines, f"    history could not be read: {document['error']}"]
    read = ", ".join(document["read"]) or "nothing"
    cut = f"; cut: {', '.join(document['cut'])}" if document["cut"] else ""
    lines.append(f"    history read from {read}{cut}")
    lines += [f"    not read: {why}" for why in document["unread"]]
    lines.append(f"    timeline ({len(document['timeline'])} entries):")
    for entry in document["timeline"]:
        mark = "*" if entry["key_moment"] else " "
        actor = f" ({entry['actor']})" if entry["actor"] else ""
        source = SOURCE_NAMES[HistorySource(entry["source"])]
        lines.append(f"     {mark}{entry['at']} {entry['text']}{actor} [{source}]")
    for name in ("incident_commander", "scribe"):
        role = document[name]
        who = f"{role['name'] or role['email']} (from {role['how']})" if role else "not found"
        lines.append(f"    {name.replace('_', ' ')}: {who}")
    responders = [r["name"] or r["email"] or "?" for r in document["responders"]]
    lines.append(f"    responders: {', '.join(responders) or 'none found'}")
    lines += [f"    link: {link['name']} {link['url']}" for link in document["links"]]
    lines.append(f"    TODO candidates ({len(document['todo_candidates'])}):")
    lines += [f"      - {c['text']} ({c['author'] or '?'})" for c in document["todo_candidates"]]
    return lines
