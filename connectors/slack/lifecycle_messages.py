"""Slack messages for the moments the process cannot go on by itself (issue 13).

Pure builders, like `messages.py`: nobody owns the post-mortem (with Take it), it stopped
being required (Keep it / Close as not needed), the incident reopened after the meeting
(a second review?), a follow-up filed unassigned, incident.io's "complete" that a guard
holds back. Each question is rebuilt without its buttons once it is answered, and the
message is edited in place to say how it ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.slack.blocks import (
    ChatMessage,
    actions,
    button,
    chat_message,
    clip,
    context,
    escape,
    header,
    incident_link,
    incident_name,
    incident_title,
    mention,
    section,
    when,
)
from hub.model.incident import Incident, Person
from hub.model.intent import (
    AskKeepPostMortem,
    AskSecondReview,
    ReportCloseBlocked,
    ReportUnassignedFollowUp,
)

People = Mapping[str, str | None]
NO_PEOPLE: People = {}

# Buttons: the intake adapter maps these action ids to commands (hub.model.command).
TAKE, KEEP, NOT_NEEDED = "pm_take", "pm_keep", "pm_not_needed"
SECOND_REVIEW, REVIEW_STANDS = "pm_second_review", "pm_review_stands"
SUMMARY_MAX = 200
VENDORS = {"incidentio": "incident.io"}


def _whom(person: Person | None, people: People, fallback: str) -> str:
    return mention(person, people) if person is not None else fallback


def no_owner(
    incident: Incident,
    fallback: Person | None,
    taken_by: Person | None,
    *,
    people: People = NO_PEOPLE,
) -> ChatMessage:
    """Nobody owns the post-mortem: whoever presses Take it does (edited once taken)."""
    name = incident_name(incident)
    blocks: tuple[dict[str, Any], ...]
    if taken_by is not None:
        blocks = (
            header(f"The post-mortem for {name} has an owner"),
            section(
                f":white_check_mark: {mention(taken_by, people)} took the post-mortem for "
                f"{incident_link(incident)}. Thank you."
            ),
        )
        return chat_message(f"{taken_by.display} owns the post-mortem for {name}.", blocks)
    hello = f"{mention(fallback, people)}, " if fallback is not None else ""
    blocks = (
        header(f"Nobody owns the post-mortem for {name}"),
        section(
            f":warning: {hello}{incident_link(incident)} ({incident_title(incident, 100)}) is "
            "resolved and needs a post-mortem, but pmhub found nobody to own it: no "
            "designated owner, incident commander, acknowledger or on-call. Nothing moves "
            "until someone does."
        ),
        actions(button("Take it", TAKE, value=incident.id, style="primary")),
        context(
            "Taking it makes you the owner; owning it is not blame. To name someone else: "
            f"`/postmortem owner @someone {escape(name)}`."
        ),
    )
    return chat_message(f"Nobody owns the post-mortem for {name}: take it?", blocks)


def keep_question(
    incident: Incident, question: AskKeepPostMortem, *, people: People = NO_PEOPLE
) -> ChatMessage:
    """It stopped being required: keep it, or close it as not needed (edited when decided)."""
    name = incident_name(incident)
    changed = (
        f"{incident_link(incident)} is now {escape(question.severity)}"
        + (
            f", and rule `{escape(question.now_rule)}` needs no post-mortem"
            if question.now_rule
            else ", and no rule needs a post-mortem"
        )
        + f" (it was required by `{escape(question.required_by)}`)."
    )
    who = _whom(question.recipient, people, "Owner")
    blocks: tuple[dict[str, Any], ...]
    if question.answer is not None:
        by = mention(question.answered_by, people) if question.answered_by else "the default"
        outcome = (
            "kept: the post-mortem goes on as before"
            if question.answer == "keep"
            else "closed as not needed; its meeting, if one was booked, is cancelled"
        )
        blocks = (
            header(f"The post-mortem for {name} is no longer required"),
            section(changed),
            section(f":white_check_mark: Decided by {by}: {outcome}."),
        )
        return chat_message(f"{name}: post-mortem {outcome}.", blocks)
    default = "closed as not needed" if question.default == "close" else "kept"
    blocks = (
        header(f"The post-mortem for {name} is no longer required"),
        section(f"{who}, {changed} Keep it, or close it as not needed?"),
        actions(
            button("Keep it", KEEP, value=incident.id),
            button("Close as not needed", NOT_NEEDED, value=incident.id, style="danger"),
        ),
        context(f"No answer by {when(question.decide_by)}: it is {default}."),
    )
    return chat_message(f"The post-mortem for {name} is no longer required: keep it?", blocks)


def second_review_question(
    incident: Incident, question: AskSecondReview, *, people: People = NO_PEOPLE
) -> ChatMessage:
    """The incident was open again after the review meeting: a second review?"""
    name = incident_name(incident)
    what = (
        f"{incident_link(incident)} was open again after its review meeting "
        f"({when(question.meeting_start)}). The meeting counts as held."
    )
    blocks: tuple[dict[str, Any], ...]
    if question.answer is not None:
        by = mention(question.answered_by, people) if question.answered_by else "someone"
        outcome = (
            "a second review: a new meeting is booked once the incident is resolved again"
            if question.answer
            else "the review stands"
        )
        blocks = (header(f"Second review for {name}?"), section(what), section(f"{by}: {outcome}."))
        return chat_message(f"{name}: {outcome}.", blocks)
    who = _whom(question.recipient, people, "Owner")
    blocks = (
        header(f"Second review for {name}?"),
        section(f"{who}, {what} Does what happened since need a second review?"),
        actions(
            button("Hold a second review", SECOND_REVIEW, value=incident.id, style="primary"),
            button("The review stands", REVIEW_STANDS, value=incident.id),
        ),
    )
    return chat_message(f"{name} reopened after its review meeting: a second review?", blocks)


def unassigned_follow_up(
    incident: Incident, report: ReportUnassignedFollowUp, reason: str, *, people: People = NO_PEOPLE
) -> ChatMessage:
    """A follow-up filed without its assignee: the owner assigns it by hand."""
    ticket = escape(report.tracker_key)
    link = f"<{report.tracker_url}|{ticket}>" if report.tracker_url else f"`{ticket}`"
    meant = f" (meant for {mention(report.intended, people)})" if report.intended else ""
    who = _whom(report.recipient, people, "Owner")
    blocks = (
        section(
            f":bust_in_silhouette: {who}, follow-up {link} of {incident_link(incident)} was "
            f"filed *unassigned*{meant}: {escape(reason)}. Please assign it by hand."
        ),
        context(escape(clip(report.summary, SUMMARY_MAX))),
    )
    return chat_message(f"Follow-up {report.tracker_key} was filed unassigned: {reason}", blocks)


def close_blocked(
    incident: Incident,
    report: ReportCloseBlocked,
    reasons: Sequence[str],
    *,
    people: People = NO_PEOPLE,
) -> ChatMessage:
    """incident.io says the post-mortem is done; what holds pmhub back (edited when done)."""
    name, vendor = incident_name(incident), VENDORS.get(report.source, report.source)
    said = f"{vendor} marks the post-mortem for {incident_link(incident)} {report.status}"
    blocks: tuple[dict[str, Any], ...]
    if not report.blocking:
        blocks = (section(f":white_check_mark: {said}, and pmhub has followed: it is closed."),)
        return chat_message(f"{name}: the post-mortem is closed.", blocks)
    who = _whom(report.recipient, people, "Owner")
    listed = "\n".join(f"• {escape(reason)}" for reason in reasons) or "• (see the audit log)"
    blocks = (
        section(f":hourglass: {who}, {said}, but pmhub cannot follow yet:\n{listed}"),
        context(
            "pmhub follows as soon as nothing it can see holds it. Fixed something only "
            f"the document shows? Move it on here (`/postmortem review {escape(name)}`, "
            "`close`), or mark it complete in incident.io again. To close regardless: "
            f"`/postmortem close --override reason… {escape(name)}`."
        ),
    )
    return chat_message(
        f"{vendor} says {name} is {report.status}; pmhub cannot follow yet.", blocks
    )
