"""Which page incident a post-mortem belongs to: chosen from listings, purely.

In `postmortem` mode Statuspage needs an incident to attach the post-mortem to
(`PUT /pages/{page_id}/incidents/{incident_id}/postmortem`), and pmhub usually
does not know its id: people open the page incident by hand during the outage.
The connector lists candidates (`GET .../incidents?q=`, which searches names,
statuses, post-mortem bodies and update bodies); this module picks one, in this
order:

1. the incident pmhub created for this very effect earlier (its marker in
   `metadata`), so a retry after a lost answer never makes a second one;
2. an incident naming the incident's reference (`PD-1042`, `INC-45`) in its name
   or one of its updates, as a whole word: references are unique, so no time
   window is needed;
3. an incident with the same name (case and spacing ignored) created while the
   incident was open, give or take `WINDOW_SLACK`: names repeat ("Elevated
   error rates"), so a name alone must also fit the time.

Within a class the incident already carrying this post-mortem wins (a retry
stays on the incident it used), then the earliest created (the one opened when
the outage began). Only realtime incidents count (never scheduled maintenance),
and never one pmhub created for another effect. No match: the connector creates
a resolved incident of its own to carry the post-mortem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.ports import Publication

MARKER_NAMESPACE = "pmhub"
REALTIME_STATUSES = frozenset({"investigating", "identified", "monitoring", "resolved"})
# Page incidents are opened by hand, a little before the pager's incident (a
# customer report) or a little after it resolved (the all-clear written late).
WINDOW_SLACK = timedelta(hours=1)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def marker_metadata(marker: str) -> dict[str, dict[str, str]]:
    return {MARKER_NAMESPACE: {"effect_key": marker}}


def marker_of(incident: Mapping[str, Any]) -> str | None:
    """pmhub's marker on a page incident, if it carries one."""
    metadata = incident.get("metadata")
    ours = metadata.get(MARKER_NAMESPACE) if isinstance(metadata, dict) else None
    key = ours.get("effect_key") if isinstance(ours, dict) else None
    return key if isinstance(key, str) else None


@dataclass(frozen=True)
class Choice:
    incident: Mapping[str, Any]
    how: str  # for the ledger: why this page incident


def choose(candidates: Iterable[Mapping[str, Any]], pub: Publication) -> Choice | None:
    """The page incident `pub`'s post-mortem belongs to, or None (pmhub creates one)."""
    usable = _usable(candidates, pub.marker)
    if ours := [c for c in usable if marker_of(c) == pub.marker]:
        return Choice(ours[0], "found: the page incident pmhub created for it earlier")
    if pub.reference:
        named = [c for c in usable if names_reference(c, pub.reference)]
        if named:
            how = f"found: {pub.reference} is named in the page incident"
            return Choice(_best(named, pub), how)
    timed = [c for c in usable if same_name(c, pub.incident_name) and opened_during(c, pub)]
    if timed:
        return Choice(_best(timed, pub), "found: same name, opened while the incident was open")
    return None


def carries(incident: Mapping[str, Any], pub: Publication) -> bool:
    """Whether the page incident already shows this very post-mortem, published."""
    return bool(incident.get("postmortem_published_at")) and incident.get("postmortem_body") == (
        pub.body
    )


def names_reference(incident: Mapping[str, Any], reference: str) -> bool:
    pattern = re.compile(rf"(?<![\w-]){re.escape(reference.strip())}(?!\w)", re.IGNORECASE)
    texts = [incident.get("name")]
    texts += [u.get("body") for u in incident.get("incident_updates") or () if isinstance(u, dict)]
    return any(isinstance(text, str) and pattern.search(text) for text in texts)


def same_name(incident: Mapping[str, Any], name: str) -> bool:
    theirs = incident.get("name")
    return isinstance(theirs, str) and _fold(theirs) == _fold(name)


def opened_during(incident: Mapping[str, Any], pub: Publication) -> bool:
    """Created while the incident was open (with slack); unknown times never match."""
    created = _time(incident.get("created_at"))
    started = _aware(pub.started_at)
    if created is None or started is None:
        return False
    resolved = _aware(pub.resolved_at)
    end = resolved + WINDOW_SLACK if resolved is not None else _FAR_FUTURE
    return started - WINDOW_SLACK <= created <= end


def _usable(candidates: Iterable[Mapping[str, Any]], marker: str) -> list[Mapping[str, Any]]:
    """Distinct realtime incidents with an id, minus those pmhub made for other effects."""
    seen: dict[str, Mapping[str, Any]] = {}
    for incident in candidates:
        incident_id = incident.get("id")
        if not isinstance(incident_id, str) or not incident_id or incident_id in seen:
            continue
        if incident.get("status") not in REALTIME_STATUSES:
            continue
        if marker_of(incident) not in (None, marker):
            continue
        seen[incident_id] = incident
    return list(seen.values())


def _best(matches: list[Mapping[str, Any]], pub: Publication) -> Mapping[str, Any]:
    def order(incident: Mapping[str, Any]) -> tuple[bool, datetime]:
        return (not carries(incident, pub), _time(incident.get("created_at")) or _FAR_FUTURE)

    return min(matches, key=order)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
