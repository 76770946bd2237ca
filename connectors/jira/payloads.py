"""Pure builders for what pmhub sends Jira: issue fields, descriptions, marker labels, JQL.

No I/O here, so every payload can be unit-tested and checked against Jira's
OpenAPI document without a server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from hub.ports import StatusCategory, TicketLink, TicketRequest

Json = dict[str, Any]

MARKER_LABEL_PREFIX = "pmhub-"
# 16 hex digits = 64 bits of SHA-256: a collision among one site's pmhub effects is
# not a practical concern, and the full key is kept in the `pmhub` entity property.
MARKER_HASH_LENGTH = 16
PROPERTY_KEY = "pmhub"
SUMMARY_LIMIT = 255  # Jira rejects longer summaries with a 400
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")

# Jira's three status category keys; "undefined" ("No Category") is what an
# unconfigured status reports, and counts as not started.
_CATEGORIES = {
    "new": StatusCategory.TO_DO,
    "undefined": StatusCategory.TO_DO,
    "indeterminate": StatusCategory.IN_PROGRESS,
    "done": StatusCategory.DONE,
}


def marker_label(marker: str) -> str:
    """The label stamped on every issue pmhub files, findable by JQL.

    A label rather than only the entity property: JQL can query entity properties
    only when an installed app indexes them (a Connect/Forge `jiraEntityProperty`
    module); labels are searchable on every site, and are set in the create call
    itself, so an issue can never exist without its marker.
    """
    digest = hashlib.sha256(marker.encode()).hexdigest()[:MARKER_HASH_LENGTH]
    return f"{MARKER_LABEL_PREFIX}{digest}"


def marker_property(marker: str) -> Json:
    return {"effect_key": marker}


def status_category(issue: Mapping[str, Any]) -> StatusCategory | None:
    fields = issue.get("fields") or {}
    key = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
    return _CATEGORIES.get(str(key)) if key is not None else None


def category_of_status(status: Mapping[str, Any]) -> StatusCategory | None:
    key = (status.get("statusCategory") or {}).get("key")
    return _CATEGORIES.get(str(key)) if key is not None else None


def jql_string(value: str) -> str:
    """A JQL string literal: double quotes, with quotes and backslashes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def due_date_fields(due_on: date | None) -> Json:
    """The `fields` of an edit that sets (or clears) the due date: Jira's date, `YYYY-MM-DD`."""
    return {"duedate": due_on.isoformat() if due_on is not None else None}


def jql_for_markers(project: str, markers: Sequence[str]) -> str:
    labels = [jql_string(marker_label(marker)) for marker in markers]
    clause = f"labels = {labels[0]}" if len(labels) == 1 else f"labels in ({', '.join(labels)})"
    return f"project = {jql_string(project)} AND {clause} ORDER BY created ASC"


# -- descriptions -----------------------------------------------------------------


def _adf_text(text: str) -> list[Json]:
    """Text nodes for one line, with bare URLs made into links (ADF does not autolink)."""
    nodes: list[Json] = []
    position = 0
    for match in _URL.finditer(text):
        if match.start() > position:
            nodes.append({"type": "text", "text": text[position : match.start()]})
        url = match.group(0)
        nodes.append({"type": "text", "text": url, "marks": [_link(url)]})
        position = match.end()
    if position < len(text):
        nodes.append({"type": "text", "text": text[position:]})
    return nodes


def _link(url: str) -> Json:
    return {"type": "link", "attrs": {"href": url}}


def _paragraph(lines: Iterable[str]) -> Json:
    content: list[Json] = []
    for line in lines:
        if content:
            content.append({"type": "hardBreak"})
        content.extend(_adf_text(line))
    return {"type": "paragraph", "content": content}


def adf_description(text: str, links: Sequence[TicketLink]) -> Json:
    """Jira Cloud v3 wants the Atlassian Document Format, not a string, for descriptions.

    Blank lines separate paragraphs; the links back (incident, post-mortem document,
    PagerDuty) follow as a bullet list of titled links.
    """
    blocks: list[Json] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in chunk.splitlines() if line.strip()]
        if lines:
            blocks.append(_paragraph(lines))
    if links:
        items = [
            {
                "type": "listItem",
                "content": [
                    {
                        "type": "paragraph",
                        "content": [
                            {"type": "text", "text": link.title, "marks": [_link(link.url)]}
                        ],
                    }
                ],
            }
            for link in links
        ]
        blocks.append({"type": "bulletList", "content": items})
    return {"type": "doc", "version": 1, "content": blocks}


def wiki_description(text: str, links: Sequence[TicketLink]) -> str:
    """Data Center's v2 description: wiki markup, where `[title|url]` is a link."""
    parts = [text.strip()] if text.strip() else []
    if links:
        parts.append("\n".join(f"* [{_wiki_escape(link.title)}|{link.url}]" for link in links))
    return "\n\n".join(parts)


def _wiki_escape(title: str) -> str:
    return title.replace("|", "-").replace("[", "(").replace("]", ")")


# -- issue fields -----------------------------------------------------------------


def issue_fields(
    request: TicketRequest,
    *,
    project: str,
    issue_type: str,
    priority_map: Mapping[str, str],
    assignee: Json | None,
    adf: bool,
) -> Json:
    """The `fields` of a create call.

    Project and issue type go by key and name (objects, not strings: the `jira`
    package would look a string up with extra calls). The marker label is added to
    the policy's labels; labels are sent as given, so one with a space fails with
    Jira's own message rather than being silently rewritten.
    """
    labels = list(dict.fromkeys([*request.labels, marker_label(request.marker)]))
    fields: Json = {
        "project": {"key": project},
        "issuetype": {"name": issue_type},
        "summary": _summary(request.summary),
        "labels": labels,
    }
    if request.description.strip() or request.links:
        fields["description"] = (
            adf_description(request.description, request.links)
            if adf
            else wiki_description(request.description, request.links)
        )
    if request.priority_name:
        fields["priority"] = {
            "name": priority_map.get(request.priority_name, request.priority_name)
        }
    if assignee is not None:
        fields["assignee"] = assignee
    if request.parent_key:
        fields["parent"] = {"key": request.parent_key}
    if request.components:
        fields["components"] = [{"name": name} for name in request.components]
    if request.due_on is not None:
        fields["duedate"] = request.due_on.isoformat()
    return fields


def _summary(summary: str) -> str:
    # Jira refuses line breaks and more than 255 characters; a follow-up's title is
    # people's text, so shorten it rather than dead-letter the ticket.
    flat = " ".join(summary.split())
    return flat if len(flat) <= SUMMARY_LIMIT else flat[: SUMMARY_LIMIT - 1] + "…"
