"""`pmhub doctor` for incident.io: is the API key valid (GET /v1/identity, read only)."""

from __future__ import annotations

import aiohttp

from connectors.common.doctor import CheckFailed, Finding, attempt, ok
from connectors.incidentio.client import IncidentIoClient
from connectors.incidentio.config import IncidentIoConfig

FIX_KEY = (
    "set sources.incidentio.api_key to an API key with the viewer role "
    "(incident.io: Settings → API keys)"
)


async def diagnose(config: IncidentIoConfig, session: aiohttp.ClientSession) -> list[Finding]:
    client = IncidentIoClient(config, session)
    try:
        identity = await attempt(client.identity(), "GET /v1/identity", auth_hint=FIX_KEY)
    except CheckFailed as failed:
        return [failed.finding]
    roles = identity.get("roles")
    shown = ", ".join(str(r) for r in roles) if isinstance(roles, list) and roles else "none"
    return [ok(f"API key {identity.get('name') or '?'!r} is valid (roles: {shown})")]
