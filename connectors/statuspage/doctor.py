"""`pmhub doctor` for Statuspage: the API key and its page (GET /pages/{page_id}, read only)."""

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
    return [ok(f"page {config.page_id} ({page.get('name') or '?'})")]
