"""`pmhub doctor` for PagerDuty: is the REST API token valid (GET /abilities, read only)."""

from __future__ import annotations

import aiohttp

from connectors.common.doctor import CheckFailed, Finding, attempt, ok
from connectors.pagerduty.client import PagerDutyClient
from connectors.pagerduty.config import PagerDutyConfig

WHERE_TO_GET_ONE = (
    "set sources.pagerduty.api_token to a REST API key (PagerDuty: Integrations → API Access Keys)"
)


async def diagnose(config: PagerDutyConfig, session: aiohttp.ClientSession) -> list[Finding]:
    del session  # the pagerduty package brings its own (httpx) transport
    client = PagerDutyClient(config)
    try:
        abilities = await attempt(client.abilities(), "GET /abilities", auth_hint=WHERE_TO_GET_ONE)
    except CheckFailed as failed:
        return [failed.finding]
    finally:
        await client.close()
    return [ok(f"the REST API token is valid ({len(abilities)} account abilities)")]
