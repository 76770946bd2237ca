"""pmhub's Slack messages about booking the meeting when it did not simply work, as pure functions.

Three moments the owner (and for one of them the incident commander) must hear about,
each once: the booked time has people who cannot make it or comes before the writing
and review time; there is no working time to book in before the deadline; a person
cancelled or deleted the meeting. Like `messages.py`: canonical values in, a
`ChatMessage` out, no I/O and no clock; `people` maps `Person.key` to a Slack id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.slack.blocks import (
    ChatMessage,
    chat_message,
    context,
    escape,
    incident_link,
    incident_name,
    mention,
    section,
    utc_text,
    when,
)
from connectors.slack.messages import NO_PEOPLE, People, meeting_text
from hub.model.incident import Incident, Person
from hub.model.intent import ReportMeetingBooking, ReportMeetingCancelled, ReportNoMeetingSlot
from hub.model.postmortem import Meeting


def _link_hint(incident: Incident) -> str:
    # `<` and `>` are Slack's own link syntax, even inside code: escaped.
    command = escape(f"/postmortem meeting <event link> {incident_name(incident)}")
    return f"Book it on the shared post-mortem calendar and link it with `{command}`."


def _named(emails: Sequence[str], people: People) -> str:
    """Invitees by mention where Slack knows them, else by email."""
    return ", ".join(mention(Person(email=email), people) for email in emails)


def meeting_booking(
    incident: Incident,
    report: ReportMeetingBooking,
    meeting: Meeting,
    *,
    deadline: datetime | None,
    people: People = NO_PEOPLE,
) -> ChatMessage:
    """To the owner: the booked time, who cannot make it, and whether it is early."""
    name = incident_name(incident)
    if report.conflicts:
        title = f"The {escape(name)} post-mortem meeting is booked, but not everyone can make it"
    elif report.not_before:
        title = f"The {escape(name)} post-mortem meeting is booked before the review time"
    else:
        title = f"The {escape(name)} post-mortem meeting is booked; some calendars were unreadable"
    due = f" Its deadline is *{when(deadline)}*." if deadline else ""
    lines = [
        f"{mention(report.recipient, people)}, pmhub booked the post-mortem meeting for "
        f"{incident_link(incident)}: {meeting_text(meeting, None)}.{due}"
    ]
    if report.conflicts:
        lines.append(
            f"*Cannot make it (busy then):* {_named(report.conflicts, people)}. No time before "
            "the deadline suits every required invitee; this one suits the most."
        )
    if report.optional_conflicts:
        lines.append(f"*Optional, busy then:* {_named(report.optional_conflicts, people)}")
    if report.unknown:
        lines.append(
            f"*Calendars pmhub could not read:* {_named(report.unknown, people)}: please check "
            "with them."
        )
    if report.not_before:
        lines.append(
            f":hourglass: It is earlier than the writing and review time ({when(report.not_before)}"
            "): the deadline leaves no working time after it. Share the post-mortem for review "
            "as early as you can."
        )
    blocks: list[dict[str, Any]] = [
        section(f":calendar: *{title}*"),
        section("\n".join(lines)),
        context(
            "If another time suits better, move the meeting on the calendar: pmhub reads it "
            "back and follows it."
        ),
    ]
    told = [f"The {name} post-mortem meeting is booked for {utc_text(meeting.start)}"]
    if report.conflicts:
        told.append(f"busy then: {', '.join(report.conflicts)}")
    if report.unknown:
        told.append(f"calendars not read: {', '.join(report.unknown)}")
    if report.not_before:
        told.append(f"earlier than the review time ({utc_text(report.not_before)})")
    return chat_message("; ".join(told) + ".", blocks)


def no_meeting_slot(
    incident: Incident, report: ReportNoMeetingSlot, *, people: People = NO_PEOPLE
) -> ChatMessage:
    """To the owner and the incident commander: nothing to book in before the deadline."""
    name = incident_name(incident)
    if report.why == "no_working_time":
        why = (
            f"there is no working time between {when(report.window_start)} and then "
            "(weekends and holidays of the policy's calendar)"
        )
    else:
        why = "the working time left before then has run out (invitations need some notice)"
    lines = [
        f"{mention(report.recipient, people)}, the post-mortem meeting for "
        f"{incident_link(incident)} must end by *{when(report.deadline)}*, but {why}, so "
        "pmhub could not book it.",
        f"*Proposed:* {when(report.proposed_start)}, the first working time after the deadline.",
    ]
    if report.recipient.key != report.owner.key:
        lines.append(
            f"{mention(report.owner, people)} owns the post-mortem; as incident commander you "
            "run the meeting."
        )
    blocks = (
        section(f":warning: *No time to book the {escape(name)} post-mortem meeting*"),
        section("\n".join(lines)),
        context(f"{_link_hint(incident)} Reminders follow the policy until a meeting is linked."),
    )
    text = (
        f"No time to book the {name} post-mortem meeting before its deadline, "
        f"{utc_text(report.deadline)}: proposed {utc_text(report.proposed_start)}."
    )
    return chat_message(text, blocks)


def meeting_cancelled(
    incident: Incident,
    report: ReportMeetingCancelled,
    *,
    deadline: datetime | None,
    people: People = NO_PEOPLE,
) -> ChatMessage:
    """To the owner: a person cancelled or deleted the meeting; what pmhub does now."""
    name = incident_name(incident)
    how = "cancelled" if report.how == "cancelled" else "deleted from the calendar"
    due = f" before the deadline, *{when(deadline)}*" if deadline else ""
    if report.rebook:
        next_step = f"pmhub books another one{due}; your DM shows it once it is booked."
        hint = "If the meeting is not needed, say so to the incident commander."
    else:
        next_step = f"pmhub does not book another one by itself. If it is still needed{due}:"
        hint = _link_hint(incident)
    lines = [
        f"{mention(report.recipient, people)}, the post-mortem meeting for "
        f"{incident_link(incident)} on {when(report.start)} was {how}.",
        next_step,
    ]
    blocks = (
        section(f":calendar: *The {escape(name)} post-mortem meeting was {how}*"),
        section("\n".join(lines)),
        context(hint),
    )
    then = "pmhub books another one" if report.rebook else "please book one and link it"
    text = f"The {name} post-mortem meeting ({utc_text(report.start)}) was {how}: {then}."
    return chat_message(text, blocks)
