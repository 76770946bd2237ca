"""Issues inside the Jira fake: the site's metadata, Jira's field rules, and rendering.

The rules are the ones pmhub can trip over, each answered with Jira's wording in
the `errors` map of its error collection (field -> message).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.jira.fake import FakeJira

Json = dict[str, Any]

SITE = "https://pmhub-test.atlassian.net"
SERVER_TIME = "2025-01-06T10:00:00.000+0000"
SUMMARY_LIMIT = 255
LABEL_LIMIT = 255

_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
# status id -> (name, category key)
STATUSES = {
    "10000": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "10001": ("Done", "done"),
}
INITIAL_STATUS = "10000"
# transition id -> (name, target status id); every status reachable from every other.
WORKFLOW = {
    "11": ("Back to To Do", "10000"),
    "21": ("Start progress", "3"),
    "31": ("Done", "10001"),
}
ISSUE_TYPES = {
    "10001": {"name": "Task", "subtask": False, "hierarchyLevel": 0},
    "10002": {"name": "Bug", "subtask": False, "hierarchyLevel": 0},
    "10000": {"name": "Epic", "subtask": False, "hierarchyLevel": 1},
    "10003": {"name": "Sub-task", "subtask": True, "hierarchyLevel": -1},
}
PRIORITIES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
_SYSTEM_FIELDS = (
    ("summary", "Summary", "string"),
    ("description", "Description", "string"),
    ("labels", "Labels", "array"),
    ("priority", "Priority", "priority"),
    ("assignee", "Assignee", "user"),
    ("status", "Status", "status"),
    ("issuetype", "Issue Type", "issuetype"),
    ("project", "Project", "project"),
    ("parent", "Parent", "issuelink"),
    ("created", "Created", "datetime"),
    ("updated", "Updated", "datetime"),
    ("duedate", "Due date", "date"),
    ("components", "Component/s", "array"),
)
FIELDS = [
    {
        "id": field_id,
        "key": field_id,
        "name": name,
        "custom": False,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [field_id],
        "schema": {"type": kind, "system": field_id},
    }
    for field_id, name, kind in _SYSTEM_FIELDS
]
_EDITABLE = {"summary", "description", "labels", "priority", "assignee", "duedate", "components"}
_SETTABLE = _EDITABLE | {"project", "issuetype", "parent"}


def status_json(status_id: str) -> Json:
    name, category = STATUSES[status_id]
    return {
        "self": f"{SITE}/rest/api/3/status/{status_id}",
        "id": status_id,
        "name": name,
        "description": "",
        "iconUrl": f"{SITE}/images/icons/statuses/generic.png",
        "statusCategory": {
            "self": f"{SITE}/rest/api/3/statuscategory/{_CATEGORIES[category]['id']}",
            **_CATEGORIES[category],
        },
    }


def _by_id_or_name(value: Any, table: Mapping[str, str]) -> str | None:
    if not isinstance(value, dict):
        return None
    if "id" in value and str(value["id"]) in table:
        return str(value["id"])
    return next((id_ for id_, name in table.items() if name == value.get("name")), None)


class _Refused(ValueError):
    """A field value Jira would refuse; the message is Jira's."""


def _summary(state: FakeJira, value: Any, version: str) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise _Refused("You must specify a summary of the issue.")
    if len(value) > SUMMARY_LIMIT or "\n" in value:
        raise _Refused("Summary must be less than 255 characters and on one line.")
    return value


def _description(state: FakeJira, value: Any, version: str) -> Any:
    if value is None:
        return None
    if version == "3":
        if not (isinstance(value, dict) and value.get("type") == "doc" and "content" in value):
            raise _Refused(
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
    elif not isinstance(value, str):
        raise _Refused("Operation value must be a string")
    return value


def _labels(state: FakeJira, value: Any, version: str) -> Any:
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        raise _Refused("Labels must be a list of strings.")
    for label in value:
        if " " in label:
            raise _Refused(f"The label '{label}' contains spaces which is invalid.")
        if len(label) > LABEL_LIMIT:
            raise _Refused(f"The label '{label[:20]}…' exceeds 255 characters.")
    return list(dict.fromkeys(value))


def _priority(state: FakeJira, value: Any, version: str) -> Any:
    priority = _by_id_or_name(value, PRIORITIES)
    if priority is None:
        raise _Refused("The priority selected is invalid.")
    return {
        "self": f"{SITE}/rest/api/3/priority/{priority}",
        "id": priority,
        "name": PRIORITIES[priority],
    }


def _assignee_field(state: FakeJira, value: Any, version: str) -> Any:
    user = _assignee(state, value)
    if user is False:
        raise _Refused("Specified user does not exist or you do not have required permissions")
    return user


def _duedate(state: FakeJira, value: Any, version: str) -> Any:
    """Jira's `duedate` is a date, `YYYY-MM-DD`; null clears it."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _Refused(f"Error parsing date string: {value}")


_CHECKS = {
    "summary": _summary,
    "duedate": _duedate,
    "description": _description,
    "labels": _labels,
    "priority": _priority,
    "assignee": _assignee_field,
}


def _check_common(
    state: FakeJira, fields: Mapping[str, Any], version: str, errors: dict[str, str]
) -> Json:
    """Rules shared by create and edit; returns the stored form of the valid fields."""
    stored: Json = {}
    for name, check in _CHECKS.items():
        if name in fields:
            try:
                stored[name] = check(state, fields[name], version)
            except _Refused as refused:
                errors[name] = str(refused)
    return stored


def _assignee(state: FakeJira, value: Any) -> Json | bool | None:
    """The user object to store; None unassigns; False: no such (active) user."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return False
    cloud = state.deployment == "Cloud"
    wanted = value.get("accountId") or value.get("id") if cloud else value.get("name")
    user = next(
        (
            u
            for u in state.users
            if (u["accountId"] if cloud else u["name"]) == wanted and u["active"]
        ),
        None,
    )
    return state.user_json(user) if user else False


def _components(project: Json, value: Any) -> tuple[list[Json] | None, str | None]:
    """The project's components named (by name or id), or Jira's message for the first
    one the project does not have."""
    if not isinstance(value, list):
        return None, "Components must be a list."
    chosen: list[Json] = []
    for item in value:
        ref = item if isinstance(item, dict) else {}
        found = next(
            (
                c
                for c in project["components"]
                if c["name"] == ref.get("name") or c["id"] == str(ref.get("id"))
            ),
            None,
        )
        if found is None:
            return None, f"Component name '{ref.get('name') or ref.get('id')}' is not valid"
        chosen.append({"self": f"{SITE}/rest/api/3/component/{found['id']}", **found})
    return chosen, None


def build_issue(
    state: FakeJira, update: Mapping[str, Any], version: str
) -> tuple[Json | None, dict[str, str]]:
    """Validate one create request; store and return the issue, or the errors."""
    fields: Mapping[str, Any] = update["fields"]
    errors: dict[str, str] = {}
    for name in fields:
        if name not in _SETTABLE:
            errors[name] = (
                f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            )
    raw_project = fields.get("project")
    wanted: Mapping[str, Any] = raw_project if isinstance(raw_project, dict) else {}
    project = next(
        (
            p
            for p in state.projects.values()
            if p["key"] == wanted.get("key") or p["id"] == str(wanted.get("id"))
        ),
        None,
    )
    if project is None:
        errors["project"] = "valid project is required"
    type_names = {id_: str(t["name"]) for id_, t in ISSUE_TYPES.items()}
    issue_type = _by_id_or_name(fields.get("issuetype"), type_names)
    if issue_type is None:
        errors["issuetype"] = (
            "The issue type selected is invalid."
            if "issuetype" in fields
            else "Specify an issue type"
        )
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    stored = _check_common(state, fields, version, errors)
    parent = None
    if fields.get("parent") is not None:
        ref = fields["parent"] if isinstance(fields["parent"], dict) else {}
        parent = state.issues.get(str(ref.get("key"))) or next(
            (i for i in state.issues.values() if i["id"] == str(ref.get("id"))), None
        )
        if parent is None:
            errors["parent"] = "Could not find issue by id or key."
    components: list[Json] = []
    if project is not None and "components" in fields:
        named, problem = _components(project, fields["components"])
        if problem:
            errors["components"] = problem
        components = named or []
    if errors or project is None or issue_type is None:
        return None, errors

    issue_id = state.next_issue_id()
    key = f"{project['key']}-{next(project['counter'])}"
    issue: Json = {
        "id": issue_id,
        "key": key,
        "fields": {
            "summary": stored["summary"],
            "description": stored.get("description"),
            "labels": stored.get("labels", []),
            "priority": stored.get("priority")
            or {"self": f"{SITE}/rest/api/3/priority/3", "id": "3", "name": "Medium"},
            "assignee": stored.get("assignee"),
            "status": status_json(INITIAL_STATUS),
            "issuetype": {
                "self": f"{SITE}/rest/api/3/issuetype/{issue_type}",
                "id": issue_type,
                **ISSUE_TYPES[issue_type],
            },
            "project": {k: project[k] for k in ("self", "id", "key", "name", "projectTypeKey")},
            "created": SERVER_TIME,
            "updated": SERVER_TIME,
            "duedate": stored.get("duedate"),
            "components": components,
        },
        "properties": {
            str(p["key"]): p.get("value")
            for p in update.get("properties") or ()
            if isinstance(p, dict) and "key" in p
        },
    }
    if parent is not None:
        issue["fields"]["parent"] = {
            "id": parent["id"],
            "key": parent["key"],
            "self": f"{SITE}/rest/api/3/issue/{parent['id']}",
            "fields": {k: parent["fields"][k] for k in ("summary", "status", "issuetype")},
        }
    state.issues[key] = issue
    return issue, {}


def check_edit(
    state: FakeJira, issue: Json, body: Mapping[str, Any], version: str
) -> dict[str, str]:
    """PUT /issue/{key}: apply `fields` (the subset pmhub might edit) or say why not."""
    fields = body.get("fields") or {}
    errors = {
        name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        for name in fields
        if name not in _EDITABLE
    }
    stored = _check_common(state, fields, version, errors)
    if "components" in fields:
        project = state.projects[issue["fields"]["project"]["key"]]
        named, problem = _components(project, fields["components"])
        if problem:
            errors["components"] = problem
        stored["components"] = named
    if not errors:
        issue["fields"].update(stored)
        issue["fields"]["updated"] = SERVER_TIME
    return errors


def render_issue(
    issue: Json, version: str, wanted: Sequence[str], properties: Sequence[str], *, cloud: bool
) -> Json:
    """An IssueBean: `fields` narrowed as asked, `properties` only those asked for."""
    everything = {"*all", "*navigable"} & set(wanted)
    chosen = {
        name: value for name, value in issue["fields"].items() if everything or name in wanted
    }
    body: Json = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": issue["id"],
        "key": issue["key"],
        "self": f"{SITE}/rest/api/{version}/issue/{issue['id']}",
    }
    if chosen:
        body["fields"] = chosen
    if properties:
        body["properties"] = {
            key: issue["properties"][key] for key in properties if key in issue["properties"]
        }
    if not cloud and isinstance(body.get("fields", {}).get("description"), dict):
        body["fields"]["description"] = "(rich text)"  # DC has no ADF
    return body
