"""Atlassian Statuspage as the status page (`hub.ports.StatusPage`).

Publishes the external message of a Reviewed post-mortem (whether it may go out is
the engine's decision) and returns the Statuspage incident id to record. Two modes:

* `incident`: the message is the page incident for this pmhub incident, created or
  updated with the publication's status (resolved by default);
* `postmortem`: the message is the post-mortem of the page incident people opened
  during the outage: `PUT .../postmortem` with the draft, then
  `PUT .../postmortem/publish`. The incident is `existing_id` when the caller knows
  it; otherwise it is found by listing (`matching.py`: pmhub's own marker, the
  incident's reference, or its name within the incident's time window). When
  nobody opened one, pmhub creates a resolved page incident to carry the
  post-mortem, without notifying subscribers (the publication notifies them once),
  marked like any incident pmhub creates. Statuspage also documents `backfilled` and
  `backfill_date` on create, but not the date's format nor what a backfilled
  incident looks like, so pmhub does not use them: its incident is dated when made.

Exactly once, without an idempotency key (Statuspage has none):

* Creating: the incident carries pmhub's marker in its `metadata`
  (`{"pmhub": {"effect_key": <marker>}}`; the API requires top-level values to be
  objects). `metadata` is documented on create and in the Incident answer but is
  not searchable, so when an earlier attempt's outcome is unknown the connector
  lists candidates and matches the marker exactly: first the `q` search by the
  incident name, then the 100 newest incidents (a human may have renamed it, or
  search may lag). An unknown outcome is retried minutes later, so the earlier
  incident is among those. Found: that is the effect (updated only if it differs).
* Updating: Statuspage records a PATCH carrying `body` as a new incident update and
  notifies subscribers again, so a blind repeat is *not* harmless. With an unknown
  outcome the incident is read first, and the PATCH is skipped when its newest
  update already says this, with this status and name.
* Post-mortem: the draft PUT is idempotent, but publishing may notify subscribers
  again; with an unknown outcome the post-mortem is read first and only the steps
  not yet done are made. When the page incident was found by listing, the listing
  already shows whether this post-mortem is published (`postmortem_body`,
  `postmortem_published_at`), and a retry finds the same incident (pmhub's own by
  its marker, someone's by the same rules, the one carrying it first).

Known outcomes (the usual case) cost no extra request: at 1 request/s that matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import aiohttp

from connectors.common.pacer import Pacer
from connectors.statuspage.client import JsonDict, StatuspageClient
from connectors.statuspage.config import StatuspageConfig
from connectors.statuspage.matching import Choice, carries, choose, marker_metadata, marker_of
from hub.errors import Transient
from hub.ports import Publication, PublishedRef

__all__ = ["StatuspageConnector", "incident_fields", "marker_metadata", "marker_of", "shows"]

RECENT_INCIDENTS = 100  # the API's maximum page size
# The only update of a page incident pmhub creates to carry a post-mortem: the
# post-mortem itself says what happened.
CARRIER_BODY = "This incident has been resolved."


def incident_fields(pub: Publication, config: StatuspageConfig, *, create: bool) -> dict[str, Any]:
    """The `incident` object of a create (POST) or update (PATCH)."""
    fields: dict[str, Any] = {
        "name": pub.incident_name,
        "status": pub.status,
        "body": pub.body,
        "deliver_notifications": config.notify_subscribers,
    }
    components = pub.component_ids or config.component_ids
    if components:
        fields["component_ids"] = list(components)
    if create:
        # Only on create: a PATCH would replace metadata other tools keep there.
        fields["metadata"] = marker_metadata(pub.marker)
    return fields


def carrier_fields(pub: Publication, config: StatuspageConfig) -> dict[str, Any]:
    """The resolved page incident pmhub creates when nobody opened one to attach to."""
    fields = incident_fields(pub, config, create=True)
    # Silent: subscribers hear once, when the post-mortem is published.
    fields.update(status="resolved", body=CARRIER_BODY, deliver_notifications=False)
    return fields


def shows(incident: Mapping[str, Any], pub: Publication) -> bool:
    """Whether the page incident already says what `pub` says (newest update first, as listed)."""
    updates = incident.get("incident_updates") or []
    newest = updates[0] if updates and isinstance(updates[0], dict) else {}
    return (
        incident.get("name") == pub.incident_name
        and incident.get("status") == pub.status
        and newest.get("body") == pub.body
    )


def published_ref(incident: Mapping[str, Any]) -> PublishedRef:
    incident_id = incident.get("id")
    if not isinstance(incident_id, str) or not incident_id:
        raise Transient("Statuspage: the incident in the answer has no id")
    shortlink = incident.get("shortlink")
    return PublishedRef(incident_id, shortlink if isinstance(shortlink, str) else None)


class StatuspageConnector:
    def __init__(self, client: StatuspageClient, config: StatuspageConfig) -> None:
        self._client = client
        self._config = config
        # Other pages a team's target names (issue 15): same key, session and pacing.
        self._pages: dict[str, StatuspageConnector] = {}

    @classmethod
    def from_config(
        cls,
        config: StatuspageConfig,
        session: aiohttp.ClientSession,
        *,
        pacer: Pacer | None = None,
    ) -> StatuspageConnector:
        """`pacer`: share one between every client of a key (the limit is per key)."""
        return cls(StatuspageClient(config, session, pacer=pacer), config)

    async def publish(self, pub: Publication, *, unknown_outcome: bool = False) -> PublishedRef:
        if pub.page_id is not None and pub.page_id != self._config.page_id:
            page = self._page(pub.page_id)
            return await page.publish(replace(pub, page_id=None), unknown_outcome=unknown_outcome)
        if self._config.mode == "postmortem":
            return await self._publish_postmortem(pub, unknown_outcome=unknown_outcome)
        return await self._publish_incident(pub, unknown_outcome=unknown_outcome)

    def _page(self, page_id: str) -> StatuspageConnector:
        if page_id not in self._pages:
            config = self._config.model_copy(update={"page_id": page_id})
            self._pages[page_id] = StatuspageConnector(self._client.for_page(page_id), config)
        return self._pages[page_id]

    # -- incident mode ------------------------------------------------------------

    async def _publish_incident(self, pub: Publication, *, unknown_outcome: bool) -> PublishedRef:
        current: JsonDict | None = None
        if pub.existing_id is not None:
            if unknown_outcome:
                current = await self._client.get_incident(pub.existing_id)
        elif unknown_outcome:
            current = await self.find_marked(pub)
        if current is not None and shows(current, pub):
            return published_ref(current)

        target = pub.existing_id or (published_ref(current).id if current else None)
        if target is None:
            fields = incident_fields(pub, self._config, create=True)
            return published_ref(await self._client.create_incident(fields))
        fields = incident_fields(pub, self._config, create=False)
        return published_ref(await self._client.update_incident(target, fields))

    async def find_marked(self, pub: Publication) -> JsonDict | None:
        """The page incident carrying `pub.marker`, if pmhub created one earlier."""
        for query in (pub.incident_name, None):
            for incident in await self._client.list_incidents(query=query, limit=RECENT_INCIDENTS):
                if marker_of(incident) == pub.marker:
                    return incident
        return None

    # -- post-mortem mode ---------------------------------------------------------

    async def _publish_postmortem(self, pub: Publication, *, unknown_outcome: bool) -> PublishedRef:
        if pub.existing_id is not None:
            return await self._attach(pub.existing_id, pub, unknown_outcome=unknown_outcome)
        choice = await self.find_page_incident(pub, unknown_outcome=unknown_outcome)
        if choice is None:
            created = published_ref(
                await self._client.create_incident(carrier_fields(pub, self._config))
            )
            await self._save_and_publish(created.id, pub.body)
            how = "created: no page incident was opened for it"
            return PublishedRef(created.id, created.url, how)
        found = published_ref(choice.incident)
        if not carries(choice.incident, pub):
            await self._save_and_publish(found.id, pub.body)
        return PublishedRef(found.id, found.url, choice.how)

    async def find_page_incident(self, pub: Publication, *, unknown_outcome: bool) -> Choice | None:
        """The page incident `pub`'s post-mortem belongs to (see `matching`), or None.

        Searched by the reference and by the name; with an unknown outcome also among
        the newest incidents, where pmhub's own is even if someone renamed it.
        """
        queries: list[str | None] = []
        for query in (pub.reference, pub.incident_name):
            if query and query.strip() and query not in queries:
                queries.append(query)
        if unknown_outcome:
            queries.append(None)
        candidates: list[JsonDict] = []
        for query in queries:
            candidates += await self._client.list_incidents(query=query, limit=RECENT_INCIDENTS)
        return choose(candidates, pub)

    async def _attach(
        self, incident_id: str, pub: Publication, *, unknown_outcome: bool
    ) -> PublishedRef:
        """The post-mortem on a page incident the caller named."""
        current = await self._client.get_postmortem(incident_id) if unknown_outcome else None
        if current is not None and current.get("published_at") and current.get("body") == pub.body:
            return PublishedRef(incident_id, how="given")
        draft = None if current is None else current.get("body_draft")
        await self._save_and_publish(incident_id, pub.body, draft_saved=draft == pub.body)
        return PublishedRef(incident_id, how="given")

    async def _save_and_publish(
        self, incident_id: str, body: str, *, draft_saved: bool = False
    ) -> None:
        if not draft_saved:
            await self._client.put_postmortem(incident_id, body)
        await self._client.publish_postmortem(
            incident_id, notify_subscribers=self._config.notify_subscribers
        )
