"""A rolling upgrade for real (issue 12): one replica on the previous release's code, one
on this code, one PostgreSQL database, deliveries landing on both.

The previous release's code is this repository's `hub` and `connectors` as they were
just before the newest migration was added (`git archive`), run by the same
interpreter with PYTHONPATH pointing at them. The order is a rollout's: the old
code's migration Job, an old replica serving, then a new replica starting, which
migrates the schema under the old one's feet. The old replica keeps working on the
new schema (the migrations are additive: tests/store/test_upgrades.py) and, no longer at
its own head, answers /readyz with 503, as docs/operations.md says. Afterwards there is
one incident, one post-mortem, no dead job and each effect once: nothing lost, nothing
duplicated.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest

from hub.store.migrate import head_revision
from tests.deploy.manifests import PRODUCTION_OVERLAY, REPO, generated, render
from tests.deploy.pod import Pod, lay_out_pod
from tests.deploy.test_production_topology import (
    INCIDENT,
    NUMBER,
    REFERENCE,
    TITLE,
    Admin,
    add_resolved_incident,
    deliver,
    overrides_for,
    running_replica,
    secrets_for,
    start_vendors,
    wait_until,
)
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
MIGRATIONS = "hub/store/migrations/versions"


def previous_code(into: Path) -> Path:
    """`hub`, `connectors` and `deploy` as they were before the newest migration; skip
    without git. (The old replica keeps the configuration it was deployed with: a new
    release's manifests may use settings the old code does not know.)"""
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("the previous release's code comes from git history")
    last = subprocess.run(
        [git, "log", "-1", "--format=%H", "--", MIGRATIONS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        [git, "archive", f"{last}^", "hub", "connectors", "deploy"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def on_code(pod: Pod, code: Path | None) -> Pod:
    """The pod, running `code` instead of the installed pmhub (None: as installed)."""
    if code is None:
        return pod
    return Pod(pod.command, {**pod.env, "PYTHONPATH": str(code)}, pod.root)


async def test_an_old_and_a_new_replica_lose_and_duplicate_nothing(
    tmp_path: Path, postgres_url: str, loopback_tls: LoopbackTls
) -> None:
    old_code = previous_code(tmp_path / "previous")
    manifests = render()
    old_manifests = render(old_code / PRODUCTION_OVERLAY.relative_to(REPO))
    site = generated(manifests, "ConfigMap", "pmhub-site")["data"]
    async with AsyncExitStack() as stack:
        vendors = await start_vendors(stack, site, loopback_tls)
        at = add_resolved_incident(vendors.pagerduty)
        secrets = secrets_for(vendors, postgres_url)
        overrides = overrides_for(vendors, loopback_tls)

        def pod(name: str, code: Path | None, workload: tuple[str, str] | None = None) -> Pod:
            laid = lay_out_pod(
                manifests if code is None else old_manifests,
                tmp_path / name,
                secrets,
                overrides,
                workload or ("Deployment", "pmhub"),
            )
            return on_code(laid, code)

        # The previous release is deployed: its migration Job, then its replica.
        job = pod("job", old_code, ("Job", "pmhub-migrate"))
        migrate = await asyncio.create_subprocess_exec(
            *job.command, env=job.env, cwd=job.root, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await migrate.communicate()
        assert migrate.returncode == 0
        old_revision = out.decode().strip().removeprefix("store at revision ")
        old = await stack.enter_async_context(running_replica(pod("old", old_code)))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        data = {
            "number": NUMBER,
            "title": TITLE,
            "created_at": at["created"],
            "priority": {"summary": "P2", "id": "PRIP2"},
        }
        triggered = pagerduty_delivery(
            "incident.triggered",
            incident_id=INCIDENT,
            extra_data={**data, "status": "triggered"},
            occurred_at=at["created"],
        )
        resolved = pagerduty_delivery(
            "incident.resolved",
            incident_id=INCIDENT,
            extra_data={**data, "status": "resolved"},
            occurred_at=at["resolved"],
        )
        await deliver(http, old, *triggered)

        # The rollout: a new replica starts and migrates while the old one serves.
        new = await stack.enter_async_context(running_replica(pod("new", None)))
        await deliver(http, new, *resolved)
        await deliver(http, old, *resolved)  # PagerDuty's retry, landing on the old one

        slack, calendar = vendors.slack, vendors.calendar
        channel = site["SLACK_INCIDENTS_CHANNEL"]

        async def effects_landed() -> bool:
            announced = any(REFERENCE in str(m.get("text")) for m in slack.posts(channel))
            return announced and bool(calendar.stored())

        replicas = [old, new]
        admins = [Admin(http, replica) for replica in replicas]
        await wait_until("the announcement and the meeting", effects_landed, replicas)
        await wait_until("every due job done", admins[1].settled, replicas)

        # The old code ran on the new schema: it is no longer at its own head.
        async with http.get(f"{old.admin}/readyz") as ready:
            assert ready.status == 503
        async with http.get(f"{new.admin}/readyz") as ready:
            assert ready.status == 200
        assert old_revision != head_revision(), "the previous code migrated to an older head"
        assert any(record.get("event") == "job.finished" for record in old.log)
        # Nothing lost, nothing duplicated, whichever replica is asked.
        for admin in admins:
            incidents = (await admin.get("/incidents"))["incidents"]
            assert [i["id"] for i in incidents] == [f"pagerduty:{INCIDENT}"]
            [postmortem] = (await admin.get("/postmortems"))["postmortems"]
            assert postmortem["id"] == f"pm:pagerduty:{INCIDENT}"
            assert (await admin.get("/jobs?state=dead"))["jobs"] == []
        keys = Counter(
            m["metadata"]["event_payload"]["effect_key"]
            for posts in slack.messages.values()
            for m in posts
            if m.get("metadata")
        )
        assert keys, "pmhub's posts carry their effect keys"
        assert max(keys.values()) == 1, keys
        assert len(calendar.stored()) == 1
        notes = [note["content"] for note in vendors.pagerduty.notes.get(INCIDENT, [])]
        assert notes
        assert len(set(notes)) == len(notes), notes
