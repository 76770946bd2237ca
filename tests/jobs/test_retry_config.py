"""pmhub.yaml's worker section sets the retry horizons and the probe interval the daemon uses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hub.jobs.retrying import DEFAULT_HORIZONS
from tests.support.daemon import running_daemon, write_config


async def test_configured_horizons_override_the_defaults(tmp_path: Path, db_url: str) -> None:
    config = write_config(tmp_path, db_url)
    text = config.read_text().replace(
        "  max_attempts: 3\n",
        "  retry_horizon_hours: {effect: 6, digest: 0.5}\n  auth_probe_seconds: 120\n",
    )
    config.write_text(text)
    async with running_daemon(config, run_worker=False) as daemon:
        policy = daemon.runtime.worker.policy
    assert policy.horizon("effect") == timedelta(hours=6)
    assert policy.horizon("digest") == timedelta(minutes=30)
    assert policy.horizon("ingest") == DEFAULT_HORIZONS["ingest"] == timedelta(hours=48)
    assert policy.max_attempts is None
    assert policy.auth_probe_seconds == 120
