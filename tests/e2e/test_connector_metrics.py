"""Which vendor fails (issue 15): effect jobs carry their connector, and /metrics counts by it.

Jira refuses every ticket for good (a 400): the follow-up's effect job is dead, its
payload names `jira`, and /metrics shows the failed attempt and the dead job under
`connector="jira"` (what the PmhubConnectorFailing alert reads).
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from connectors.jira.fake import BULK
from hub.jobs.queue import JobState
from tests.e2e.test_tracker_flow import NOW, World, _change, _follow_ups, _resolve, world
from tests.support.daemon import running_daemon, settle, shifted_clock

__all__ = ["world"]


async def test_a_failing_connector_is_named_on_its_dead_jobs_and_on_metrics(world: World) -> None:
    world.jira.fail(400, times=None, method="POST", route=BULK)
    async with running_daemon(world.config, clock=shifted_clock(NOW)) as daemon:
        await _resolve(daemon)
        await _change(daemon, _follow_ups)
        await settle(daemon)
        dead = await daemon.runtime.queue.list_jobs(state=JobState.DEAD, limit=100)
        assert dead
        assert {job.payload.get("connector") for job in dead} == {"jira"}
        effects = await daemon.runtime.queue.list_jobs(kind="effect", limit=1000)
        assert "jira" in {job.payload.get("connector") for job in effects}
        text = await (await daemon.client.get("/metrics")).text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("pmhub_dead_effect_jobs", (("connector", "jira"),))] == len(dead)
    failures = samples[
        ("pmhub_effect_failures_total", (("connector", "jira"), ("error", "Permanent")))
    ]
    assert failures >= len(dead)
