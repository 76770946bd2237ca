"""`pmhub doctor` for Statuspage: the API key, its page, and the components named for it
(GET /pages/{page_id} and its /components, read only)."""

from __future__ import annotations

import aiohttp

from connectors.common.doctor import CheckFailed, Finding, attempt, fail, ok
from connectors.common.pacer import KeyedPacer
from connectors.statuspage.client import StatuspageClient
from connectors.statuspage.config import StatuspageConfig

FIX_KEY = "set connectors.statuspage.api_key to an API key (Statuspage: your avatar → API info)"


async def diagnose(
    config: StatuspageConfig, session: aiohttp.ClientSession, *, pacer: KeyedPacer | None = None
) -> list[Finding]:
    """`pacer`: shared by every page checked in one run, as the daemon shares one per key
    (Statuspage allows one request a second per key; each page is its own check)."""
    client = StatuspageClient(config, session, pacer=pacer)
    try:
        page = await attempt(client.get_page(), f"GET page {config.page_id}", auth_hint=FIX_KEY)
    except CheckFailed as failed:
        return [failed.finding]
    if page is None:
        return [
            fail(
                f"page {config.page_id} not found for this API key — set "
                "connectors.statuspage.page_id to the page id shown on the API info page"
            )
        ]
    findings = [ok(f"page {config.page_id} ({page.get('name') or '?'})")]
    if config.component_ids:
        findings.append(await _components_finding(client, config))
    return findings


async def _components_finding(client: StatuspageClient, config: StatuspageConfig) -> Finding:
    try:
        known = await attempt(client.component_ids(), "GET components", auth_hint=FIX_KEY)
    except CheckFailed as failed:
        return failed.finding
    missing = [c for c in config.component_ids if c not in known]
    if not missing:
        return ok(f"components {', '.join(config.component_ids)} are on page {config.page_id}")
    return fail(
        f"component(s) {', '.join(missing)} not on page {config.page_id} — set "
        "connectors.statuspage.component_ids to ids from the page's Components tab"
    )
