"""Follow-up tickets in Jira (`hub.ports.Tracker`).

Idempotency: Jira has no client request id, so every issue pmhub files carries a
marker label `pmhub-<16 hex of sha256(effect key)>`, set in the create call itself,
plus an issue entity property `pmhub = {"effect_key": ...}` written right after.
When the previous attempt's outcome is unknown (request sent, answer lost), the
connector searches `project = X AND labels = "pmhub-…"` first and returns what it
finds instead of filing a second issue. The label is the finder because JQL only
sees entity properties an installed app indexes; the property records the full key
(the label is a hash) and rules out a hash collision when present.

Jira's search index trails writes by a moment, so a retry seconds after a lost
answer is what makes the search reliable; the job runner's backoff provides that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from connectors.jira.client import JiraClient
from connectors.jira.config import Deployment, JiraConfig
from connectors.jira.payloads import (
    PROPERTY_KEY,
    category_of_status,
    due_date_fields,
    issue_fields,
    jql_for_markers,
    marker_label,
    marker_property,
    status_category,
)
from hub.errors import AuthFailed, ConnectorError, Permanent
from hub.ports import StatusCategory, TicketRef, TicketRequest

Json = dict[str, Any]

BULK_LIMIT = 50  # Jira's maximum issues per POST /issue/bulk
USER_CACHE_MAX_ENTRIES = 1024


class JiraConnector:
    """Implements `hub.ports.Tracker`."""

    def __init__(self, client: JiraClient, config: JiraConfig) -> None:
        self._client = client
        self._config = config
        # email -> assignee object; accountIds do not change, misses are not cached
        # (the person may be added to Jira later).
        self._assignees: dict[str, Json] = {}

    @classmethod
    def from_config(cls, config: JiraConfig) -> JiraConnector:
        return cls(JiraClient(config), config)

    async def close(self) -> None:
        await self._client.close()

    async def check(self) -> str:
        """Reach the site and sign in (for `pmhub check`); returns who pmhub acts as."""
        info = await self._client.server_info()
        me = await self._client.myself()
        who = me.get("displayName") or me.get("emailAddress") or me.get("name") or "?"
        return f"{info.get('serverTitle') or self._config.url}: signed in as {who}"

    # -- Tracker ---------------------------------------------------------------------

    async def find_by_marker(self, marker: str) -> TicketRef | None:
        found = (await self._find([marker], self._config.project)).get(marker)
        return found[0] if found else None

    async def create(self, request: TicketRequest, *, unknown_outcome: bool = False) -> TicketRef:
        return await self._create_one(request, _issue_type(request, self._config), unknown_outcome)

    async def create_parent(
        self, request: TicketRequest, *, unknown_outcome: bool = False
    ) -> TicketRef | None:
        if not self._config.parent_issue:
            return None
        # The parent sits at the top of its hierarchy: a parent of its own is ignored.
        top = TicketRequest(
            summary=request.summary,
            description=request.description,
            marker=request.marker,
            labels=request.labels,
            priority_name=request.priority_name,
            assignee_email=request.assignee_email,
            links=request.links,
            project=request.project,
            components=request.components,
        )
        return await self._create_one(top, self._config.parent_issue_type, unknown_outcome)

    async def create_many(
        self, requests: Sequence[TicketRequest], *, unknown_outcome: bool = False
    ) -> list[TicketRef | ConnectorError]:
        results: list[TicketRef | ConnectorError | None] = [None] * len(requests)
        if unknown_outcome:
            for chunk in _chunks(list(range(len(requests))), BULK_LIMIT):
                # One search per project: a batch may hold tickets of several teams.
                for project, indexes in _by_project(requests, chunk, self._config).items():
                    found = await self._find([requests[i].marker for i in indexes], project)
                    for i in indexes:
                        hit = found.get(requests[i].marker)
                        if hit is not None:
                            results[i] = await self._repaired(hit, requests[i].marker)
        pending = [i for i, result in enumerate(results) if result is None]
        for chunk in _chunks(pending, BULK_LIMIT):
            built = [
                await self._fields(requests[i], _issue_type(requests[i], self._config))
                for i in chunk
            ]
            created = await self._client.create_issues([fields for fields, _ in built])
            for i, (_, unassigned), outcome in zip(chunk, built, created, strict=True):
                if isinstance(outcome, ConnectorError):
                    results[i] = outcome
                else:
                    ref = await self._created(outcome, requests[i].marker)
                    results[i] = replace(ref, unassigned_reason=unassigned)
        return [result for result in results if result is not None]

    async def set_due_date(self, key: str, due_on: date | None) -> None:
        # PUT /issue/{key} with only `duedate`: Jira changes that field alone, and
        # repeating it is harmless (the same value again).
        await self._client.edit_issue(key, due_date_fields(due_on))

    async def get(self, key: str) -> TicketRef:
        issue = await self._client.get_issue(key, fields=("status",))
        return self._ref(issue)

    async def transition_to_done(self, key: str) -> TicketRef:
        current = await self.get(key)
        if current.status_category is StatusCategory.DONE:
            return current
        return await self._move(key, (StatusCategory.DONE,))

    async def reopen(self, key: str) -> TicketRef:
        current = await self.get(key)
        if current.status_category is not StatusCategory.DONE:
            return current
        # Back to the start of the workflow if it allows, else anywhere not done.
        return await self._move(key, (StatusCategory.TO_DO, StatusCategory.IN_PROGRESS))

    # -- internals -------------------------------------------------------------------

    async def _create_one(
        self, request: TicketRequest, issue_type: str, unknown_outcome: bool
    ) -> TicketRef:
        if unknown_outcome:
            project = request.project or self._config.project
            found = (await self._find([request.marker], project)).get(request.marker)
            if found is not None:
                return await self._repaired(found, request.marker)
        fields, unassigned = await self._fields(request, issue_type)
        created = await self._client.create_issue(fields)
        return replace(await self._created(created, request.marker), unassigned_reason=unassigned)

    async def _created(self, created: Json, marker: str) -> TicketRef:
        key = str(created.get("key") or "")
        if not key:
            raise Permanent("Jira created an issue but its answer carries no key")
        # Never fail after the issue exists: a failed job would be retried as if
        # nothing had been filed. The label, set in the create call, already finds
        # this issue; the property only adds the unhashed key.
        with contextlib.suppress(ConnectorError):
            await self._client.set_property(key, PROPERTY_KEY, marker_property(marker))
        return TicketRef(key=key, url=self._browse(key))

    async def _repaired(self, found: tuple[TicketRef, bool], marker: str) -> TicketRef:
        """A found issue whose property was never written (the answer to its create was
        lost, so the PUT never followed) gets it now; best effort, as in `_created`."""
        ref, has_property = found
        if not has_property:
            with contextlib.suppress(ConnectorError):
                await self._client.set_property(ref.key, PROPERTY_KEY, marker_property(marker))
        return ref

    async def _find(
        self, markers: Sequence[str], project: str
    ) -> dict[str, tuple[TicketRef, bool]]:
        """marker -> (its issue, whether the issue carries the pmhub property)."""
        jql = jql_for_markers(project, markers)
        issues = await self._client.search(
            jql, fields=("status", "labels"), properties=(PROPERTY_KEY,)
        )
        wanted = {marker_label(marker): marker for marker in markers}
        found: dict[str, tuple[TicketRef, bool]] = {}
        for issue in issues:  # oldest first: if ever two exist, the first one filed wins
            recorded = ((issue.get("properties") or {}).get(PROPERTY_KEY) or {}).get("effect_key")
            for label in (issue.get("fields") or {}).get("labels") or ():
                marker = wanted.get(label)
                if marker is None or (recorded is not None and recorded != marker):
                    continue  # not ours, or a label hash shared with another key
                found.setdefault(marker, (self._ref(issue), recorded is not None))
        return found

    async def _fields(self, request: TicketRequest, issue_type: str) -> tuple[Json, str | None]:
        """The issue's fields, and why it goes unassigned when an assignee was asked for."""
        assignee, unassigned = None, None
        if request.assignee_email:
            assignee, unassigned = await self._assignee(request.assignee_email)
        fields = issue_fields(
            request,
            project=request.project or self._config.project,
            issue_type=issue_type,
            priority_map=self._config.priority_map,
            assignee=assignee,
            adf=self._config.deployment is Deployment.CLOUD,
        )
        return fields, unassigned

    async def _assignee(self, email: str) -> tuple[Json | None, str | None]:
        """The assignee object for an email, or None and why: the ticket is then filed
        unassigned.

        Unassigned rather than failed: the ticket matters more than its assignee, and
        the post-mortem owner is told (the ticket's `unassigned_reason`). A failing user
        search is an enrichment that failed, not a reason to lose the ticket; only bad
        credentials are raised (the create would fail the same way).
        """
        wanted = email.strip().lower()
        if wanted in self._assignees:
            return self._assignees[wanted], None
        try:
            found = await self._client.find_users(email)
        except AuthFailed:
            raise
        except ConnectorError as exc:
            return None, f"Jira's user search failed for {email}: {exc}"
        users = [user for user in found if user.get("active", True)]
        exact = [user for user in users if str(user.get("emailAddress", "")).lower() == wanted]
        # Cloud hides emailAddress under strict profile visibility; one result for an
        # exact email query is then still that person.
        user = exact[0] if exact else users[0] if len(users) == 1 else None
        if user is None:
            return None, f"Jira knows no active user with the email {email}"
        cloud = self._config.deployment is Deployment.CLOUD
        ident = {"accountId": user.get("accountId")} if cloud else {"name": user.get("name")}
        if not next(iter(ident.values())):
            return None, f"Jira shows no account id for {email}"
        if len(self._assignees) >= USER_CACHE_MAX_ENTRIES:
            self._assignees.clear()
        self._assignees[wanted] = ident
        return ident, None

    async def _move(self, key: str, targets: Sequence[StatusCategory]) -> TicketRef:
        transitions = await self._client.transitions(key)
        for target in targets:
            for transition in transitions:
                if transition.get("isAvailable") is False:
                    continue
                if category_of_status(transition.get("to") or {}) is target:
                    await self._client.transition(key, str(transition["id"]))
                    return TicketRef(key=key, url=self._browse(key), status_category=target)
        names = ", ".join(str(t.get("name")) for t in transitions) or "none"
        wanted = " or ".join(target.value for target in targets)
        raise Permanent(
            f"Jira {key}: no transition leads to a {wanted} status (available: {names})"
        )

    def _ref(self, issue: Json) -> TicketRef:
        key = str(issue.get("key"))
        return TicketRef(key=key, url=self._browse(key), status_category=status_category(issue))

    def _browse(self, key: str) -> str:
        return f"{self._config.url}/browse/{key}"


def _issue_type(request: TicketRequest, config: JiraConfig) -> str:
    return request.issue_type or config.issue_type


def _by_project(
    requests: Sequence[TicketRequest], indexes: Sequence[int], config: JiraConfig
) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i in indexes:
        found.setdefault(requests[i].project or config.project, []).append(i)
    return found


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
