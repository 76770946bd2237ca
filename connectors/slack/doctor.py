"""`pmhub doctor` for Slack: who the token is, its scopes, the bot in its channels.

Read only: auth.test, and a one-message conversations.history read of each channel —
the read pmhub itself does before repeating a post whose outcome is unknown, so a
channel that passes here is one pmhub can post in and look back at. (conversations.info
would need `channels:read`, a scope pmhub has no other use for.)
"""

from __future__ import annotations

import aiohttp

from connectors.common.doctor import CheckFailed, Finding, attempt, fail, ok
from connectors.slack.client import SlackClient
from connectors.slack.config import SlackConfig
from connectors.slack.scopes import BOT_SCOPES

FIX_CREDENTIALS = (
    "set connectors.slack.bot_token to the app's Bot User OAuth Token (xoxb-…, "
    "OAuth & Permissions page of the Slack app)"
)


async def diagnose(config: SlackConfig, session: aiohttp.ClientSession) -> list[Finding]:
    """One finding per check; a token Slack refuses stops the rest."""
    client = SlackClient(config, session)
    try:
        identity, scopes = await attempt(client.identity(), "auth.test", auth_hint=FIX_CREDENTIALS)
    except CheckFailed as failed:
        return [failed.finding]
    who = identity.get("user") or identity.get("user_id") or "?"
    findings = [ok(f"auth.test as @{who} (team {identity.get('team_id') or '?'})")]
    findings += _scope_findings(scopes)
    channels = {"incidents_channel": config.incidents_channel}
    if config.postmortem_channel and config.postmortem_channel != config.incidents_channel:
        channels["postmortem_channel"] = config.postmortem_channel
    for key, channel in channels.items():
        findings.append(await _channel_finding(client, key, channel, str(who)))
    return findings


def _scope_findings(scopes: frozenset[str] | None) -> list[Finding]:
    if scopes is None:
        return [fail("Slack sent no x-oauth-scopes header, so the scopes cannot be checked")]
    missing = sorted(BOT_SCOPES - scopes)
    if not missing:
        return [ok(f"the token has the {len(BOT_SCOPES)} bot scopes pmhub needs")]
    return [
        fail(
            f"missing scope {scope} — add it in the Slack app's OAuth & Permissions "
            "(or deploy/slack/manifest.yaml) and reinstall the app"
        )
        for scope in missing
    ]


async def _channel_finding(client: SlackClient, key: str, channel: str, bot: str) -> Finding:
    what = f"{key} {channel}"
    try:
        refusal = await attempt(client.channel_refusal(channel), what, auth_hint=FIX_CREDENTIALS)
    except CheckFailed as failed:
        return failed.finding
    if refusal == "not_in_channel":
        return fail(f"the bot is not in {what} — invite it: /invite @{bot} in that channel")
    if refusal == "channel_not_found":
        return fail(
            f"{what} not found — use the channel's id (its details show it); for a "
            f"private channel, invite @{bot} first"
        )
    return ok(f"the bot is in {what}")
