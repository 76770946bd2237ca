"""The job kinds of the flow and their dedupe keys, named once for every layer.

ingest (one stored delivery) → reconcile (one incident) → effect (one intent); beside
the flow, digest (one team's weekly digest, a timer). An effect job names the connector
that carries it out (`effect_payload`), so a dead letter says which vendor failed.
At most one *pending* job exists per dedupe key, so a burst of deliveries about
one incident queues one reconcile, not a hundred.
"""

from __future__ import annotations

INGEST = "ingest"
RECONCILE = "reconcile"
EFFECT = "effect"
DIGEST = "digest"  # a team's weekly digest (issue 15): a timer per team


def ingest_key(source: str, delivery_id: str) -> str:
    return f"ingest:{source}:{delivery_id}"


def reconcile_key(incident_id: str) -> str:
    return f"reconcile:{incident_id}"


def digest_key(team: str, week: str) -> str:
    """One digest job per team and week: a retry of this week's never meets next week's."""
    return f"digest:{team}:{week}"


def effect_key(intent_key: str) -> str:
    return f"effect:{intent_key}"


def effect_payload(incident_id: str, key: str, connector: str | None) -> dict[str, str]:
    """An effect job's payload: the intent, and the connector that carries it out (if any)."""
    payload = {"incident_id": incident_id, "key": key}
    if connector is not None:
        payload["connector"] = connector
    return payload


RETENTION = "retention"  # removes what is past its horizon (issue 12): one timer, any replica
RETENTION_KEY = "retention"  # one pending run, whatever the number of replicas
