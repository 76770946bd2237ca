"""Jira webhooks → follow-up facts.

Only `jira:issue_updated` matters: pmhub creates the follow-up tickets itself and
wants to hear when one moves to a "done" status category. The status *category*
(`new` / `indeterminate` / `done`) is used rather than the status name because
every Jira workflow names its statuses differently but maps them onto these three.
The fact is dated by the webhook's `timestamp` (epoch milliseconds, when the
change happened), falling back to the issue's `updated` field. The issue's `duedate`
(`YYYY-MM-DD`, null when cleared) travels with it whenever the delivery's fields
carry the key, so a person moving a follow-up's due date in Jira moves it in pmhub.
"""

from __future__ import annotations

from datetime import date

from hub.intake.adapters.base import (
    AdapterResult,
    Ignored,
    epoch_millis,
    obj,
    parse_time,
    text,
)
from hub.model.followup_event import FollowUpFact, FollowUpStatus
from hub.model.incident import Person

ISSUE_UPDATED = "jira:issue_updated"


def person(user: object) -> Person | None:
    data = obj(user)
    name, email = text(data.get("displayName")), text(data.get("emailAddress"))
    if name is None and email is None:
        return None
    return Person(name=name, email=email)


def parse_webhook(body: object) -> tuple[AdapterResult, ...]:
    envelope = obj(body)
    event_type = text(envelope.get("webhookEvent"))
    if event_type != ISSUE_UPDATED:
        return (Ignored(event_type, "event type not used"),)
    issue = obj(envelope.get("issue"))
    key = text(issue.get("key"))
    if key is None:
        return (Ignored(event_type, "issue without key"),)
    fields = obj(issue.get("fields"))
    category = obj(obj(fields.get("status")).get("statusCategory")).get("key")
    due_reported = "duedate" in fields
    fact = FollowUpFact(
        source="jira",
        external_id=key,
        title=text(fields.get("summary")) or "",
        status=FollowUpStatus.DONE if category == "done" else FollowUpStatus.OPEN,
        owner=person(fields.get("assignee")),
        priority=text(obj(fields.get("priority")).get("name")),
        at=epoch_millis(envelope.get("timestamp")) or parse_time(fields.get("updated")),
        url=_browse_url(text(issue.get("self")), key),
        due_on=_date(fields.get("duedate")) if due_reported else None,
        due_reported=due_reported and _readable_date(fields.get("duedate")),
    )
    return (fact,)


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _readable_date(value: object) -> bool:
    """A due date pmhub can read: null (cleared), or a date (an unreadable one is ignored,
    rather than read as cleared)."""
    return value is None or _date(value) is not None


def _browse_url(api_url: str | None, key: str) -> str | None:
    # issue.self is the REST URL (https://site/rest/api/2/issue/10001); people
    # want the page (https://site/browse/KEY).
    if not api_url or "/rest/" not in api_url:
        return None
    return f"{api_url.split('/rest/', 1)[0]}/browse/{key}"
