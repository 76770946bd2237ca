"""The meeting's description: links, who does what, and seed 004's agenda. Pure.

Plain text, not HTML: Google Calendar links bare URLs itself, and the invitation
e-mails Google sends (`sendUpdates=all`) reach Outlook and Apple Calendar users too,
who would otherwise see tags.
"""

from __future__ import annotations

from hub.ports import MeetingDetails

# Seed 004, "Post-Mortem Meeting": the general agenda, in its words.
AGENDA = (
    "Recap the timeline, to make sure everyone agrees and is on the same page.",
    "Recap important points, and any unusual items.",
    "Discuss how the problem could've been caught.",
    "Discuss customer impact. Any comments from customers, etc.",
    "Review action items that have been created, discuss if appropriate, "
    "or if more are needed, etc.",
)
# Sub-points, by the 0-based index of the agenda item they belong to.
AGENDA_DETAIL = {
    2: (
        "Did it show up in canary?",
        "Could it have been caught in tests, or loadtest environment?",
    ),
}

PURPOSE = (
    "A blameless wrap-up of the post-mortem (15-30 minutes): what happened, what we "
    "could have done better, and the follow-up actions. The goal is to surface any "
    "disagreement on the facts, the analysis or the recommended actions."
)
PREPARATION = (
    "Please read the post-mortem before the meeting; the owner shares it for review "
    "about 24 hours ahead."
)
FOOTER = (
    "Scheduled by pmhub. Moving this meeting is fine: pmhub will not move it back, "
    "it only tells the owner if it no longer meets the deadline."
)


def headline(details: MeetingDetails) -> str:
    """'PD-1042 (SEV-1): Database failover stalled', with whatever parts are known."""
    label = details.incident_reference or ""
    if details.severity:
        label = f"{label} ({details.severity})" if label else details.severity
    return f"{label}: {details.incident_title}" if label else details.incident_title


def describe(details: MeetingDetails) -> str:
    """The full event description."""
    sections = [
        f"Post-mortem meeting for {headline(details)}",
        PURPOSE,
        _links(details),
        _roles(details),
        _agenda(),
        PREPARATION,
        *(f"Note: {note}" for note in details.notes),
        FOOTER,
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _links(details: MeetingDetails) -> str:
    links = [
        ("Incident", details.incident_url),
        ("Post-mortem document", details.postmortem_url),
        ("PagerDuty", details.pagerduty_url),
    ]
    # The same URL twice (a PagerDuty incident *is* the incident) says nothing new.
    seen: set[str] = set()
    lines = []
    for label, url in links:
        if url and url not in seen:
            seen.add(url)
            lines.append(f"{label}: {url}")
    return "\n".join(lines)


def _roles(details: MeetingDetails) -> str:
    lines = []
    if details.incident_commander:
        lines.append(
            f"Incident commander: {details.incident_commander} - runs the meeting "
            "and keeps the discussion on track."
        )
    if details.owner:
        lines.append(
            f"Post-mortem owner: {details.owner} - walks everyone through the post-mortem."
        )
    return "\n".join(lines)


def _agenda() -> str:
    lines = ["Agenda:"]
    for index, item in enumerate(AGENDA):
        lines.append(f"{index + 1}. {item}")
        lines.extend(f"   - {point}" for point in AGENDA_DETAIL.get(index, ()))
    return "\n".join(lines)
