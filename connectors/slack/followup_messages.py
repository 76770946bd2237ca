"""Block Kit for follow-ups with due dates (issue 15): reminders, escalations, the weekly digest.

Pure builders, like `messages.py`, kept apart so each grows without touching the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from connectors.slack.blocks import (
    ChatMessage,
    bullet_list,
    chat_message,
    context,
    escape,
    header,
    incident_link,
    incident_name,
    mention,
    person_name,
    section,
)
from hub.model.digest import DigestPostMortem, TeamDigest
from hub.model.incident import Incident
from hub.model.intent import RemindFollowUp
from hub.model.postmortem import FollowUp

People = Mapping[str, str | None]


def _ticket(follow_up: FollowUp, browse_url: str | None) -> str:
    if follow_up.tracker_key is None:
        return "not filed yet"
    if browse_url:
        return f"<{browse_url}{follow_up.tracker_key}|{follow_up.tracker_key}>"
    return follow_up.tracker_key


def follow_up_reminder(
    incident: Incident,
    follow_up: FollowUp,
    reminder: RemindFollowUp,
    *,
    people: People,
    browse_url: str | None = None,
) -> ChatMessage:
    """Due soon, due today, or overdue (an escalation), with the ticket and who owns it."""
    due = _day(reminder.due_on)
    title = {
        "before": f":hourglass_flowing_sand: Follow-up due {due}",
        "due": f":alarm_clock: Follow-up due today ({due})",
        "overdue": f":rotating_light: Escalation: follow-up overdue since {due}",
    }[reminder.stage]
    owner = f"{mention(follow_up.owner, people)} owns it. " if follow_up.owner else ""
    told = [mention(p, people) for p in reminder.recipients]
    lines = [
        f"*{title}*" + (f"\n{' '.join(told)}:" if told else ""),
        f"*{escape(follow_up.summary)}* ({escape(follow_up.priority)}, "
        f"{_ticket(follow_up, browse_url)})",
        f"{owner}From the post-mortem of {incident_link(incident)}.",
    ]
    if reminder.stage == "overdue":
        lines.append("Help it get done, or agree on a new due date on the ticket.")
    else:
        lines.append("Moving the due date on the ticket moves it in pmhub too.")
    blocks: list[dict[str, Any]] = [section("\n".join(lines))]
    if reminder.unresolved_roles:
        roles = ", ".join(f"`{escape(r)}`" for r in reminder.unresolved_roles)
        blocks.append(context(f":warning: Nobody holds {roles}, so they were not told."))
    prefix = "Escalation" if reminder.escalation else "Reminder"
    when = {
        "before": f"is due {due}",
        "due": f"is due today ({due})",
        "overdue": f"was due {due} and is still open",
    }[reminder.stage]
    text = f"{prefix} ({incident_name(incident)}): {follow_up.summary} {when}"
    return chat_message(text, blocks=tuple(blocks))


def _day(day: date) -> str:
    return day.strftime("%a %d %b %Y")


# -- the weekly digest -----------------------------------------------------------------


def team_digest(digest: TeamDigest) -> ChatMessage:
    """Open post-mortems and their status, this week's meetings, overdue follow-ups by owner."""
    zone = ZoneInfo(digest.timezone)
    title = f"Post-mortems of {digest.team}: week of {digest.week_start:%a %d %b %Y}"
    blocks: list[dict[str, Any]] = [header(title)]
    if digest.empty:
        blocks.append(section("Nothing open, no meeting this week, nothing overdue. :tada:"))
        return chat_message(f"{title}: nothing open.", blocks=tuple(blocks))
    opened = [_open_line(pm) for pm in digest.open_postmortems]
    blocks.append(
        section(f"*Open post-mortems ({len(opened)})*\n" + (bullet_list(opened) or "none"))
    )
    meetings = [
        f"{pm.meeting_start.astimezone(zone):%a %d %b %H:%M}: {escape(pm.reference)} "
        f"{escape(pm.title)}"
        for pm in digest.meetings
        if pm.meeting_start is not None
    ]
    blocks.append(
        section(f"*Meetings this week ({len(meetings)})*\n" + (bullet_list(meetings) or "none"))
    )
    overdue = [
        f"*{escape(owner)}*: "
        + "; ".join(
            f"{escape(i.summary)} ({escape(i.tracker_key or i.priority)}, due {i.due_on:%d %b})"
            for i in items
        )
        for owner, items in digest.overdue_by_owner()
    ]
    count = len(digest.overdue_follow_ups)
    blocks.append(section(f"*Follow-ups overdue ({count})*\n" + (bullet_list(overdue) or "none")))
    blocks.append(context(f"Times in {digest.timezone}. `pmhub report` has the numbers."))
    text = (
        f"{title}: {len(opened)} open, {len(meetings)} meeting(s) this week, "
        f"{count} follow-up(s) overdue."
    )
    return chat_message(text, blocks=tuple(blocks))


def _open_line(pm: DigestPostMortem) -> str:
    owner = person_name(pm.owner) if pm.owner else "no owner"
    late = " :warning: overdue" if pm.overdue else ""
    return (
        f"{escape(pm.reference)} {escape(pm.title)} ({pm.severity}): *{pm.status.label}*, "
        f"{escape(owner)}{late}"
    )
