"""deploy/grafana/pmhub.json (issue 15): a dashboard that queries only what pmhub exports.

Every PromQL expression of every panel (and of the team variable) is parsed, and each
metric it names must be on a running daemon's /metrics, with a seeded history behind it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser

from tests.deploy.test_kubernetes import _selectors
from tests.support.daemon import running_daemon, write_config
from tests.support.history import NOW, seed, write_files
from tests.support.metric_names import exposition_names

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "pmhub.json"
OURS = ("pmhub_", "process_", "python_")


def _expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _expressions(item)


def _queried(dashboard: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for expr in _expressions(dashboard["panels"]):
        # Grafana's variables are not PromQL: `$team` is a regex the user picks.
        parsed = promql_parser.parse(expr.replace("$team", ".*"))
        names |= {selector.name for selector in _selectors(parsed) if selector.name}
    variable = dashboard["templating"]["list"][1]["definition"]
    assert variable == "label_values(pmhub_postmortems, team)"
    return names | {"pmhub_postmortems"}


def test_the_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "pmhub"
    titles = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert titles == [
        "Process health: are post-mortems happening on time?",
        "Daemon health: is pmhub itself doing its work?",
    ]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"]
            assert panel["description"]


async def test_every_metric_the_dashboard_queries_is_on_metrics(
    tmp_path: Path, db_url: str
) -> None:
    policy, teams = write_files(tmp_path)
    config = write_config(tmp_path, db_url)
    config.write_text(config.read_text() + teams + f"policies: [{policy}]\n")
    async with running_daemon(config, run_worker=False, clock=lambda: NOW) as daemon:
        await seed(daemon.runtime.engine)
        response = await daemon.client.get("/metrics")
        assert response.status == 200
        exported = exposition_names(await response.text())
    queried = _queried(json.loads(DASHBOARD.read_text()))
    ours = {name for name in queried if name.startswith(OURS)}
    assert ours == queried, f"the dashboard queries metrics of others: {queried - ours}"
    assert ours - exported == set()
    # It shows both sides: the process and the daemon.
    assert {"pmhub_postmortem_resolution_to_milestone_seconds_bucket", "pmhub_follow_ups"} <= ours
    assert {
        "pmhub_job_runs_total",
        "pmhub_effect_failures_total",
        "process_cpu_seconds_total",
    } <= ours
