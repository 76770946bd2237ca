"""The post-mortem document's words: the template's context, pmhub's draft section, the
results email. Pure.

The document is the policy's Jinja template (`document.template`: a shipped one or the
team's own file) rendered once, when the post-mortem starts, with what `assemble`
found: the timeline, the responders with the Incident Commander and the Scribe, the
call recording and other links. After that the document belongs to people; pmhub
writes only its own *draft section* (placed last by the connector), built here from
the post-mortem's state: status, owner, meeting, follow-ups, the TODOs found, and a
note when the history was cut.

The draft uses the Markdown both connectors write back alike: headings, paragraphs,
bullets, `- [ ]` checkboxes and links; no emphasis (Docs' draft writer would show the
asterisks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Template as JinjaTemplate

from hub.model.document import DocumentReview
from hub.model.history import HistorySource
from hub.model.incident import Incident, Person
from hub.model.postmortem import FollowUpState, PostMortem
from hub.policy.people import Assembled, LinkFound, ResponderFound, RoleFound
from hub.policy.templates import incident_value, person_value, postmortem_value, render

SOURCE_NAMES = {
    HistorySource.PAGERDUTY: "PagerDuty",
    HistorySource.INCIDENT_IO: "incident.io",
    HistorySource.SLACK: "Slack",
}
DRAFT_INTRO = (
    "pmhub keeps this section up to date until someone edits it; "
    "everything above it is yours to write."
)
_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_MAX = 80


def slug(incident: Incident, tz: ZoneInfo) -> str:
    """'2026-11-24-pd-1042-checkout-api-5xx': the day it started, its reference and title."""
    day = incident.resolved_at or incident.created_at
    parts = [
        day.astimezone(tz).strftime("%Y-%m-%d") if day else "",
        incident.reference or incident.source_id,
        incident.title,
    ]
    text = _SLUG.sub("-", " ".join(p for p in parts if p).lower()).strip("-")
    return text[:SLUG_MAX].rstrip("-") or "postmortem"


# -- the template's context ----------------------------------------------------------


def document_context(
    incident: Incident,
    postmortem: PostMortem | None,
    owner: Person | None,
    assembled: Assembled,
    *,
    rule: str,
    tz: ZoneInfo,
    max_entries: int,
) -> dict[str, Any]:
    """Every name a document template may use (the same at load time: `sample_context`)."""
    meeting = postmortem.meeting if postmortem else None
    message = postmortem.external_message if postmortem else None
    return {
        "incident": incident_value(incident),
        "postmortem": postmortem_value(postmortem),
        "owner": person_value(owner),
        "rule": rule,
        "timezone": tz.key,
        "timeline": [
            {
                "at": entry.at,
                "day": entry.at.strftime("%a %d %b"),
                "time": entry.at.strftime("%H:%M"),
                "source": SOURCE_NAMES[entry.source],
                "kind": entry.kind.value,
                "actor": entry.actor,
                "text": entry.text,
                "link": entry.link,
                "key_moment": entry.key_moment,
            }
            for entry in assembled.timeline
        ],
        "responders": [_responder(r) for r in assembled.responders],
        "commander": _role(assembled.commander),
        "scribe": _role(assembled.scribe),
        "links": [_link(link) for link in assembled.links],
        "recordings": [_link(link) for link in assembled.links if link.name == "Call recording"],
        "candidates": [c.model_dump() for c in assembled.candidates],
        "history": {
            "read": [_source_name(s) for s in assembled.read],
            "cut": [_source_name(s) for s in assembled.cut],
            "unread": list(assembled.unread),
            "max_entries": max_entries,
        },
        "meeting": meeting.model_dump() if meeting else None,
        "external_message": message.body if message else None,
    }


def _source_name(source: str) -> str:
    try:
        return SOURCE_NAMES[HistorySource(source)]
    except ValueError:
        return source


def _name(person: Person) -> str:
    return person.name or person.email or person.display


def _responder(responder: ResponderFound) -> dict[str, Any]:
    return {
        "name": _name(responder.person),
        "email": responder.person.email,
        "joined": responder.joined_at,
        "first_action": responder.first_action_at,
        "roles": list(responder.roles),
    }


def _role(found: RoleFound | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "name": _name(found.person),
        "email": found.person.email,
        "how": found.how,
        "link": found.link,
    }


def _link(link: LinkFound) -> dict[str, Any]:
    return {"name": link.name, "url": link.url, "at": link.at, "message": link.source_link}


def render_document(template: JinjaTemplate, context: dict[str, Any]) -> str:
    """The template rendered; blank lines squeezed so Markdown lists stay lists."""
    text = render(template, context)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# -- pmhub's draft section -----------------------------------------------------------


def render_draft(
    postmortem: PostMortem,
    owner: Person | None,
    tz: ZoneInfo,
    *,
    cut: Sequence[str] = (),
    max_entries: int | None = None,
) -> str:
    """pmhub's own section: where the post-mortem stands, the follow-ups, the TODOs found."""
    meeting = postmortem.meeting
    when = _when(meeting.start, tz) if meeting else "not scheduled yet"
    lines = [
        DRAFT_INTRO,
        "",
        f"Status: {postmortem.status.label}. Owner: {owner.display if owner else 'nobody yet'}. "
        f"Meeting: {when}.",
    ]
    follow_ups = [f for f in postmortem.follow_ups if f.state is not FollowUpState.DROPPED]
    if follow_ups:
        lines += ["", "### Follow-ups", ""]
        for item in follow_ups:
            where = item.tracker_key or "not filed yet"
            done = ", done" if item.state is FollowUpState.DONE else ""
            lines.append(f"- {where} ({item.priority}{done}): {_one_line(item.summary)}")
    open_todos = [c for c in postmortem.candidates if c.follow_up_id is None]
    if open_todos:
        lines += ["", "### TODOs found in the channel", ""]
        lines.append("The owner can add each as a follow-up from pmhub's message in Slack.")
        lines.append("")
        for candidate in open_todos:
            source = f" ([message]({candidate.link}))" if candidate.link else ""
            author = f", {candidate.author}" if candidate.author else ""
            at = candidate.at.astimezone(tz).strftime("%a %H:%M")
            lines.append(f"- [ ] {_one_line(candidate.text)} ({at}{author}){source}")
    if cut:
        limit = f" at {max_entries} entries" if max_entries else ""
        lines += [
            "",
            f"The history read for the timeline was cut{limit} ({', '.join(cut)}): "
            "the timeline above may miss some of it.",
        ]
    return "\n".join(lines) + "\n"


def _when(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lstrip("#*-+> ")


# -- the results email ---------------------------------------------------------------


def results_email(
    incident: Incident,
    postmortem: PostMortem,
    owner: Person | None,
    review: DocumentReview | None,
    sections: Sequence[str],
    *,
    document_url: str | None,
) -> tuple[str, str]:
    """(subject, plain text) of the email telling the results and key learnings."""
    name = incident.reference or incident.id
    subject = f"Post-mortem results: {name} {incident.title}".strip()
    status = postmortem.status.label
    lines = [
        f"The post-mortem of {name} ({incident.title or 'untitled'}, "
        f"{incident.severity.value}) is {status}.",
    ]
    if owner is not None:
        lines.append(f"Owner: {_name(owner)}")
    for wanted in sections:
        text = review.text(wanted) if review else None
        if text:
            heading = review.heading(wanted) if review else wanted
            lines += ["", heading, "-" * len(heading), text]
    follow_ups = [f for f in postmortem.follow_ups if f.state is not FollowUpState.DROPPED]
    if follow_ups:
        lines += ["", "Follow-ups", "----------"]
        for item in follow_ups:
            who = f" ({_name(item.owner)})" if item.owner else ""
            key = item.tracker_key or "not filed"
            lines.append(f"- {key} {item.priority}: {_one_line(item.summary)}{who}")
    if document_url:
        lines += ["", f"The post-mortem: {document_url}"]
    lines += ["", "-- ", "Sent by pmhub for the post-mortem process."]
    return subject, "\n".join(lines) + "\n"
