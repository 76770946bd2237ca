"""Where an incident's effects go: the targets of its team, as the policy resolved them.

One pmhub serves many teams. A policy (or a rule in it) names targets per team, the
configuration maps incidents to teams and holds each team's defaults, and the
connector sections of `pmhub.yaml` are the defaults of the whole installation.
`hub.policy.routing` folds those layers into one `Route` per incident; each intent's
payload carries the part of it its effect needs (a chat payload its channel, a
ticket its project), so a performer sends each effect where its team wants it.

Every field is optional: None means "the installation's default" (the connector's
own setting), which is also what an installation that routes nothing gets. Payloads
leave an unset target out of their canonical form, so routing nothing changes no
intent's fingerprint (`hub.model.intent`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer

from hub.model.incident import Frozen


def _without_nulls(model: Any) -> Any:
    """A target as the JSON a fingerprint hashes: only what is set (a later optional field
    then changes no digest of an installation that does not use it)."""
    return model.model_dump(mode="json", exclude_none=True)


class TrackerRoute(Frozen):
    """Where a follow-up ticket is filed: Jira project, issue type and components."""

    project: str | None = None
    issue_type: str | None = None
    components: tuple[str, ...] | None = None


class StatusPageRoute(Frozen):
    """The status page (and its components) an external message is published on."""

    page_id: str | None = None
    component_ids: tuple[str, ...] | None = None


class DocumentRoute(Frozen):
    """Where the post-mortem document is written: a Drive folder, or a repository and path."""

    folder: str | None = None
    repository: str | None = None
    path: str | None = None


TrackerTarget = Annotated[TrackerRoute, PlainSerializer(_without_nulls, when_used="json")]
StatusPageTarget = Annotated[StatusPageRoute, PlainSerializer(_without_nulls, when_used="json")]
DocumentTarget = Annotated[DocumentRoute, PlainSerializer(_without_nulls, when_used="json")]


class Route(Frozen):
    """Every target of one incident; None: the installation's default."""

    team: str | None = None
    channel: str | None = None  # the Slack channel announcements and outcomes go to
    review_channel: str | None = None  # where review requests go; `channel` when unset
    calendar_id: str | None = None
    tracker: TrackerRoute | None = None
    status_page: StatusPageRoute | None = None
    stakeholders: tuple[str, ...] | None = None  # the email list results and digests go to
    document: DocumentRoute | None = None

    @property
    def empty(self) -> bool:
        return self == Route(team=self.team)
