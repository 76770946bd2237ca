"""pmhub's Slack messages for the post-mortem process, as pure functions.

Each builder takes canonical values (incident, post-mortem, people, times) and
returns a `ChatMessage`: Block Kit for Slack, and a plain `text` fallback for
notifications and screen readers. No I/O and no clock: the same inputs always give
the same message (snapshot-tested), and the engine can rebuild a message to edit it
(`chat.update`) when the meeting gets booked or the owner accepts.

`people` maps `Person.key` to the Slack user id `lookup_user` found (None: no Slack
account); such a person is named by name and email instead of mentioned.
Command replies live in `replies.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.slack.blocks import (
    ChatMessage,
    actions,
    bullet_list,
    button,
    chat_message,
    clip,
    context,
    divider,
    escape,
    fields,
    header,
    incident_link,
    incident_name,
    incident_title,
    mention,
    person_name,
    section,
    utc_text,
    when,
)
from hub.model.incident import Incident, Person
from hub.model.intent import Remind
from hub.model.postmortem import FollowUp, FollowUpState, Meeting, PostMortem

People = Mapping[str, str | None]
NO_PEOPLE: People = {}

ACCEPT, HANDOFF, OPEN = "pm_accept", "pm_handoff", "pm_open"
SUMMARY_MAX = 200
SUMMARY_TEXT_MAX = 1500  # the document's Summary in the outcome post
SUMMARY_FALLBACK_MAX = 300

# Seed 004, "Owner Responsibilities" and "Post-Mortem", in the order the work happens.
RESPONSIBILITIES: tuple[str, ...] = (
    "*Schedule the meeting* on the shared post-mortem calendar and invite the people involved",
    "*Investigate*: pull in whoever you need from other teams",
    "*Fill in the timeline first*: changes in status and impact, key responder actions, "
    "each with where the data came from",
    "*Analyse*: what happened and why, the impact on customers, and how you gathered the data",
    '*Write the external message* for customers ("incident" or "service degradation", '
    'not "outage" unless it was one)',
    "*Share it for review* in Slack about 24 hours before the meeting",
    "*Create the follow-up tickets* (P0/P1 only; creating them, not finishing them)",
    "*Communicate the results* internally once it has been reviewed",
)
NOT_BLAME = (
    "Owning a post-mortem is not blame: it means making sure the team learns from "
    "what happened. The post-mortem is blameless."
)


# Seed 004: the message customers read is written by the owner and reviewed in the meeting.
EXTERNAL_MESSAGE_NOTES = (
    "It is reviewed in the post-mortem meeting and published on the status page once the "
    "post-mortem is Reviewed.\n"
    'Say "incident" or "service degradation", not "outage", unless it really was a full '
    "outage."
)


def external_message_reply(incident: Incident) -> str:
    """How the owner gives the external message (the slash command, read by intake)."""
    return f"Reply with `/postmortem message your text… {escape(incident_name(incident))}`."


def owner_designation(
    incident: Incident,
    postmortem: PostMortem | None,
    owner: Person,
    *,
    deadline: datetime | None,
    accepted_at: datetime | None = None,
    people: People = NO_PEOPLE,
    unresolved_roles: Sequence[str] = (),
    external_message: bool = False,
) -> ChatMessage:
    """The DM naming the owner; rebuilt and edited in place once accepted or booked.

    It names the meeting roles nobody holds and, with `external_message`, asks for the
    external message (issue 16): the owner's first message is the one that matters, so
    they are not second messages racing this one."""
    meeting = postmortem.meeting if postmortem else None
    name = incident_name(incident)
    blocks = [
        header(f"You own the post-mortem for {name}"),
        section(f"{mention(owner, people)}, {_designation_reason(postmortem)}\n_{NOT_BLAME}_"),
        _incident_fields(incident, deadline),
        section(f"*Meeting:* {meeting_text(meeting, deadline)}"),
    ]
    if unresolved_roles:
        blocks.append(section(_unresolved_text(unresolved_roles)))
    if external_message:
        blocks += [
            section("*An external message for customers is needed.* " + EXTERNAL_MESSAGE_NOTES),
            context(external_message_reply(incident)),
        ]
    blocks += [
        section("*Your part, step by step:*\n" + _checklist(meeting is not None)),
        _owner_actions(incident, postmortem, accepted=accepted_at is not None),
    ]
    if accepted_at is not None:
        blocks.append(context(f":white_check_mark: Accepted {when(accepted_at)}"))
    text = f"You own the post-mortem for {name}: {incident.title or '(untitled)'}"
    if deadline is not None:
        text += f". Meeting due by {utc_text(deadline)}"
    if unresolved_roles:
        text += f". Nobody found for {', '.join(unresolved_roles)}: please invite them"
    if external_message:
        text += ". An external message for customers is needed"
    return chat_message(text + ".", blocks)


def owner_handed_off(
    incident: Incident, former: Person, owner: Person, *, people: People = NO_PEOPLE
) -> ChatMessage:
    """The former owner's DM, edited after a hand-off: who owns it now; no buttons to press."""
    name = incident_name(incident)
    blocks = (
        header(f"You handed off the post-mortem for {name}"),
        section(
            f"{mention(former, people)}, {mention(owner, people)} owns the post-mortem for "
            f"{incident_link(incident)} now. Thank you for your part in it."
        ),
        context(f"Changed your mind? `/postmortem owner @yourname {escape(name)}` takes it back."),
    )
    text = f"{owner.display} owns the post-mortem for {name} now."
    return chat_message(text, blocks)


def optional_postmortem_question(
    incident: Incident, owner: Person, *, people: People = NO_PEOPLE
) -> ChatMessage:
    """Seed 000, false positives: no post-mortem required, but alerting may need tuning."""
    name = incident_name(incident)
    question = (
        f"{mention(owner, people)}, {incident_link(incident)} looks like a false positive, "
        "so a post-mortem is optional. Something still raised it: would a quick "
        "post-mortem to tune the alerting be worth it?"
    )
    blocks = (
        header(f"Quick post-mortem for {name}?"),
        section(question),
        _incident_fields(incident, None),
        actions(
            button("Yes, I'll write a quick one", ACCEPT, value=incident.id, style="primary"),
            button("Hand off…", HANDOFF, value=incident.id),
        ),
        context(
            f"Not worth it? `/postmortem close no alerting change needed {escape(name)}`. "
            "Owning it is not blame."
        ),
    )
    text = f"{name} looks like a false positive: would a quick post-mortem to tune alerting help?"
    return chat_message(text, blocks=blocks)


def channel_announcement(
    incident: Incident,
    postmortem: PostMortem | None,
    owner: Person,
    *,
    deadline: datetime | None,
    people: People = NO_PEOPLE,
    previous_owner: Person | None = None,
) -> ChatMessage:
    """To the incidents channel: who owns the post-mortem, and when the meeting is.

    Edited in place when the meeting is booked or moved and on a hand-off (then it
    names whom the post-mortem was taken over from), so the channel keeps one message.
    """
    meeting = postmortem.meeting if postmortem else None
    name = incident_name(incident)
    handed = f" (taken over from {escape(person_name(previous_owner))})" if previous_owner else ""
    blocks: list[dict[str, Any]] = [
        section(
            f":memo: *Post-mortem for {incident_link(incident)}* "
            f"({incident.severity.value}): {incident_title(incident)}\n"
            f"*Owner:* {mention(owner, people)}{handed}\n"
            f"*Meeting:* {meeting_text(meeting, deadline)}"
        ),
    ]
    document = postmortem.document_url if postmortem else None
    if document:
        blocks.append(actions(button("Open post-mortem", OPEN, value=incident.id, url=document)))
    text = f"Post-mortem for {name}: owner {owner.display}; meeting {_meeting_plain(meeting)}."
    return chat_message(text, blocks)


def meeting_past_deadline(
    incident: Incident,
    owner: Person,
    meeting: Meeting,
    *,
    deadline: datetime,
    people: People = NO_PEOPLE,
) -> ChatMessage:
    """To the owner: someone moved the meeting, and it now ends after the deadline.

    pmhub does not move it back (whoever moved it may know something pmhub does not),
    so the message says what changed and leaves the decision with the owner.
    """
    name = incident_name(incident)
    link = f" (<{meeting.html_link}|calendar event>)" if meeting.html_link else ""
    body = (
        f"{mention(owner, people)}, the post-mortem meeting for {incident_link(incident)} "
        f"was moved: it now takes place {when(meeting.start)}{link} and ends after "
        f"its deadline, *{when(deadline)}*."
    )
    blocks = (
        section(f":warning: *The {escape(name)} post-mortem meeting is now past its deadline*"),
        section(body),
        context(
            "pmhub will not move it back. If the new time is right, keep it; if not, "
            "move it on the calendar to end by the deadline."
        ),
    )
    text = (
        f"The {name} post-mortem meeting was moved to {utc_text(meeting.start)}: it now ends "
        f"after its deadline, {utc_text(deadline)}."
    )
    return chat_message(text, blocks)


def reminder(
    reminder: Remind, text: str, incident: Incident, *, people: People = NO_PEOPLE
) -> ChatMessage:
    """A `remind` intent's `text`: a reminder, or an escalation once the deadline has passed."""
    name = incident_name(incident)
    title = (
        f":rotating_light: Escalation: the {name} post-mortem is overdue"
        if reminder.escalation
        else f":alarm_clock: Reminder: the {name} post-mortem"
    )
    recipients = [mention(p, people) for p in reminder.recipients]
    blocks: list[dict[str, Any]] = [
        section(f"*{title}*\n{' '.join(recipients) + ': ' if recipients else ''}{escape(text)}"),
        context(f"{incident_link(incident)} · {incident_title(incident, 100)}"),
    ]
    if reminder.escalated_to:
        climbed = " ".join(mention(p, people) for p in reminder.escalated_to)
        blocks.append(
            context(f":arrow_up: Escalated to {climbed}: the post-mortem is past its deadline.")
        )
    if reminder.unresolved_roles:
        roles = ", ".join(f"`{escape(r)}`" for r in reminder.unresolved_roles)
        blocks.append(context(f":warning: Nobody holds {roles}, so they were not told."))
    prefix = "Escalation" if reminder.escalation else "Reminder"
    return chat_message(f"{prefix} ({name}): {text}", blocks=tuple(blocks))


def review_request(
    incident: Incident,
    postmortem: PostMortem,
    owner: Person | None,
    *,
    people: People = NO_PEOPLE,
) -> ChatMessage:
    """Seed 004: share the post-mortem for review about 24 hours before the meeting."""
    name = incident_name(incident)
    meeting = postmortem.meeting
    asked_by = f" {mention(owner, people)} asks for your comments." if owner else ""
    lines = [
        f":eyes: *The post-mortem for {incident_link(incident)} is ready for review.*{asked_by}",
        f"*Meeting:* {meeting_text(meeting, None)}",
        "Comments on style and content before the meeting keep the meeting short.",
    ]
    blocks: list[dict[str, Any]] = [section("\n".join(lines))]
    if postmortem.document_url:
        blocks.append(
            actions(
                button("Open post-mortem", OPEN, value=incident.id, url=postmortem.document_url)
            )
        )
    text = f"The post-mortem for {name} is ready for review before the meeting"
    text += f" ({utc_text(meeting.start)})." if meeting else "."
    return chat_message(text, blocks)


def _unresolved_text(roles: Sequence[str]) -> str:
    listed = bullet_list([f"`{escape(role)}`" for role in roles])
    return (
        ":busts_in_silhouette: *Nobody found for these meeting roles:*\n"
        f"{listed}\nPlease invite them to the meeting yourself."
    )


def unresolved_roles(incident: Incident, roles: Sequence[str]) -> ChatMessage:
    """To the owner: roles the meeting should include that pmhub could not find anyone for."""
    name = incident_name(incident)
    listed = bullet_list([f"`{escape(role)}`" for role in roles])
    blocks = (
        section(
            ":busts_in_silhouette: pmhub found nobody for these roles of the "
            f"{incident_link(incident)} post-mortem meeting:\n{listed}\n"
            "Please invite them to the meeting yourself."
        ),
    )
    text = f"{name}: nobody found for {', '.join(roles)}; please invite them to the meeting."
    return chat_message(text, blocks=blocks)


def flagged_followup(
    incident: Incident, follow_up: FollowUp, *, reason: str, allowed: Sequence[str] = ()
) -> ChatMessage:
    """To the owner: a follow-up the policy would not file, and why."""
    name = incident_name(incident)
    summary = escape(clip(follow_up.summary, SUMMARY_MAX))
    lines = [
        f":triangular_flag_on_post: *Follow-up {escape(follow_up.id)} of {incident_link(incident)} "
        "was not filed.*",
        f"> {escape(follow_up.priority)} {summary}",
        f"*Why:* {escape(reason)}",
    ]
    if allowed:
        lines.append(f"*Priorities filed automatically:* {', '.join(map(escape, allowed))}")
    blocks = (
        section("\n".join(lines)),
        context("Raise its priority if it must be done, or drop it; the rest are filed."),
    )
    return chat_message(f"{name}: follow-up {follow_up.id} was not filed: {reason}.", blocks=blocks)


def outcome_summary(
    incident: Incident,
    postmortem: PostMortem,
    owner: Person | None,
    *,
    people: People = NO_PEOPLE,
) -> ChatMessage:
    """Seed 000, "share outcomes": the closed post-mortem, to the incidents channel."""
    name = incident_name(incident)
    follow_ups = [f for f in postmortem.follow_ups if f.state is not FollowUpState.DROPPED]
    pairs = [
        ("Severity", incident.severity.value),
        ("Owner", mention(owner, people) if owner else "nobody"),
        ("Meeting", meeting_text(postmortem.meeting, None)),
        ("External message", external_message_text(postmortem)),
    ]
    blocks: list[dict[str, Any]] = [
        header(f"Post-mortem closed: {name}"),
        section(f"{incident_link(incident)}: {incident_title(incident)}"),
    ]
    # The document's own Summary, as read when it moved on (seed 000: "the final summary").
    summary = postmortem.document.summary if postmortem.document else None
    if summary:
        blocks.append(section("*Summary:*\n" + escape(clip(summary, SUMMARY_TEXT_MAX))))
    blocks += [
        fields(pairs),
        section("*Follow-ups:*\n" + follow_ups_text(follow_ups, postmortem)),
    ]
    if postmortem.not_needed_reason:
        blocks.append(context(f"No post-mortem was needed: {escape(postmortem.not_needed_reason)}"))
    if postmortem.document_url:
        blocks += [
            divider(),
            actions(
                button("Read the post-mortem", OPEN, value=incident.id, url=postmortem.document_url)
            ),
        ]
    text = (
        f"Post-mortem closed for {name} ({incident.title or 'untitled'}): "
        f"{len(follow_ups)} follow-up{'s' if len(follow_ups) != 1 else ''}."
    )
    if summary:
        text += " " + clip(" ".join(summary.split()), SUMMARY_FALLBACK_MAX)
    return chat_message(text, blocks)


# -- shared pieces (also used by replies.py) ---------------------------------------------


def follow_ups_text(follow_ups: Sequence[FollowUp], postmortem: PostMortem | None = None) -> str:
    if not follow_ups:
        reason = postmortem.no_follow_ups_reason if postmortem else None
        return f"none: {escape(reason)}" if reason else "none"
    return bullet_list([_follow_up_line(f) for f in follow_ups])


def external_message_text(postmortem: PostMortem) -> str:
    message = postmortem.external_message
    if message is None:
        return "none"
    if message.published and message.published_at is not None:
        return f"published {when(message.published_at)}"
    return "published" if message.published else "written, not published yet"


def _follow_up_line(item: FollowUp) -> str:
    summary = escape(clip(item.summary, SUMMARY_MAX))
    where = f"`{escape(item.tracker_key)}`" if item.tracker_key else "_not filed yet_"
    done = " :white_check_mark:" if item.state is FollowUpState.DONE else ""
    if item.flagged_reason and not item.tracker_key:
        # Flagged by the policy: say why here too, not only in the owner's DM.
        flag = escape(item.flagged_reason)
        return f"{where} {escape(item.priority)} {summary}\n    :triangular_flag_on_post: _{flag}_"
    return f"{where} {escape(item.priority)} {summary}{done}"


def _designation_reason(postmortem: PostMortem | None) -> str:
    designation = postmortem.designation if postmortem else None
    if designation is not None and designation.by is not None:
        return f"{escape(designation.by.display)} named you the owner of this post-mortem."
    return "you have been named the owner of this post-mortem."


def _incident_fields(incident: Incident, deadline: datetime | None) -> dict[str, Any]:
    pairs = [
        ("Incident", incident_link(incident)),
        ("Severity", incident.severity.value),
        ("Title", incident_title(incident)),
    ]
    if deadline is not None:
        pairs.append(("Meeting due by", when(deadline)))
    return fields(pairs)


def _checklist(meeting_booked: bool) -> str:
    marks = [
        ":white_check_mark:" if index == 0 and meeting_booked else ":white_large_square:"
        for index in range(len(RESPONSIBILITIES))
    ]
    return "\n".join(f"{mark} {item}" for mark, item in zip(marks, RESPONSIBILITIES, strict=True))


def _owner_actions(
    incident: Incident, postmortem: PostMortem | None, *, accepted: bool
) -> dict[str, Any]:
    buttons = [] if accepted else [button("Accept", ACCEPT, value=incident.id, style="primary")]
    buttons.append(button("Hand off…", HANDOFF, value=incident.id))
    document = postmortem.document_url if postmortem else None
    buttons.append(button("Open post-mortem", OPEN, value=incident.id, url=document))
    return actions(*buttons, block_id="pm_owner")


def meeting_text(meeting: Meeting | None, deadline: datetime | None) -> str:
    if meeting is None:
        due = f"; it must take place by {when(deadline)}" if deadline else ""
        return f"not scheduled yet{due}"
    start = when(meeting.start)
    # Not `<link|<!date…>>`: Slack does not nest its tokens, so the link goes beside.
    return f"{start} (<{meeting.html_link}|calendar event>)" if meeting.html_link else start


def _meeting_plain(meeting: Meeting | None) -> str:
    return utc_text(meeting.start) if meeting else "not scheduled yet"
