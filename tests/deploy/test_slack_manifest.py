"""deploy/slack/manifest.yaml asks for exactly the bot scopes the Slack methods pmhub calls need.

The methods are read from the Slack connector's code (every `AsyncWebClient` method it
calls, mapped to the Web API method slack-sdk sends); each method's scopes come from
Slack's method documentation (tests/fixtures/specs/slack_method_docs.trimmed.json, see
SOURCES.md there). A new call without its scope in the manifest fails here.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import yaml
from slack_sdk.web.async_client import AsyncWebClient

from connectors.slack.scopes import BOT_SCOPES
from hub.config import SourcesSettings
from hub.intake.verifiers import build_verifiers

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "deploy" / "slack" / "manifest.yaml"
SLACK_CONNECTOR = REPO / "connectors" / "slack"
METHOD_DOCS = REPO / "tests" / "fixtures" / "specs" / "slack_method_docs.trimmed.json"

# Where a method's documented scopes are alternatives, one per kind of conversation
# (`channels:` public, `groups:` private, `im:` DMs, `mpim:` group DMs), the kinds pmhub
# uses it on, as the connector's code does:
#   conversations.open: `users=` one person, for the owner's DM (connector.open_dm).
#   conversations.history: `find_posted` reads back its own DMs and posts in the
#     incidents channel, which a team may make public or private; the timeline reads
#     an incident's channel (history.py), public or private.
#   conversations.replies: the timeline's threads, in that incident channel.
CONVERSATION_KINDS = {
    "conversations.open": {"im"},
    "conversations.history": {"im", "channels", "groups"},
    "conversations.replies": {"channels", "groups"},
}
# Methods missing from the method docs above whose Swagger entry (Slack's Web API
# document, ../shared/specs/slack_web_openapi_v2.json) says "Requires scope: `none`":
# auth.test, which `pmhub doctor` calls to learn who the token is.
NO_SCOPE_REQUIRED = frozenset({"auth.test"})
# Scopes Slack requires next to another one: "This scope must be requested at the same
# time as users:read" (docs.slack.dev, scope users:read.email).
REQUESTED_TOGETHER = {"users:read.email": {"users:read"}}


def _manifest() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return document


def methods_pmhub_calls() -> set[str]:
    """Web API methods the connector calls through slack-sdk's AsyncWebClient."""
    called = set()
    for source in SLACK_CONNECTOR.glob("*.py"):
        for sdk_method in re.findall(r"\._web\.(\w+)\(", source.read_text()):
            code = inspect.getsource(getattr(AsyncWebClient, sdk_method))
            [api_method] = re.findall(r'api_call\(\s*"([\w.]+)"', code)
            called.add(api_method)
    return called


def scopes_needed() -> set[str]:
    docs = json.loads(METHOD_DOCS.read_text())
    needed: set[str] = set()
    for method in sorted(methods_pmhub_calls() - NO_SCOPE_REQUIRED):
        assert method in docs, f"{method}: add its documentation to {METHOD_DOCS.name}"
        doc = docs[method]
        scopes = set(doc["scope"].get("bot", []))
        if not scopes:
            assert doc.get("no_scope_required"), method
            continue
        if len(scopes) > 1:
            assert method in CONVERSATION_KINDS, f"{method}: which of {sorted(scopes)}?"
            scopes = {s for s in scopes if s.split(":")[0] in CONVERSATION_KINDS[method]}
            assert scopes, method
        needed |= scopes
    for scope in list(needed):
        needed |= REQUESTED_TOGETHER.get(scope, set())
    return needed


def test_the_connector_calls_the_methods_this_test_knows() -> None:
    # Guards the derivation itself: a refactor hiding the calls would make it vacuous.
    assert methods_pmhub_calls() == {
        "auth.test",
        "chat.getPermalink",
        "chat.postMessage",
        "chat.update",
        "conversations.history",
        "conversations.open",
        "conversations.replies",
        "pins.list",
        "users.lookupByEmail",
        "views.open",
    }


def test_the_manifest_asks_for_every_scope_pmhub_needs_and_no_other() -> None:
    granted = set(_manifest()["oauth_config"]["scopes"]["bot"])
    needed = scopes_needed() | {"commands"}  # a slash command needs `commands`
    assert needed - granted == set(), "the manifest lacks these scopes"
    assert granted - needed == set(), "the manifest asks for scopes pmhub does not use"
    assert "user" not in _manifest()["oauth_config"]["scopes"]


def test_doctor_holds_the_token_to_the_same_scopes() -> None:
    # `pmhub doctor` compares the granted scopes with BOT_SCOPES: it must be this list.
    assert scopes_needed() | {"commands"} == BOT_SCOPES


def test_the_manifest_points_slack_at_pmhubs_endpoints() -> None:
    manifest = _manifest()
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/postmortem"
    assert command["should_escape"] is True  # mentions arrive as <@U…>, which pmhub parses
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    paths = {
        "/" + url.split("://", 1)[1].split("/", 1)[1]
        for url in (command["url"], interactivity["request_url"])
    }
    # The paths pmhub serves for a configured Slack source.
    sources = SourcesSettings.model_validate({"slack": {"signing_secret": "s"}})
    routes = {f"/webhooks/{source}" for source in build_verifiers(sources)}
    assert paths == routes
    assert all(url.startswith("https://") for url in (command["url"], interactivity["request_url"]))
    assert manifest["settings"]["socket_mode_enabled"] is False  # pmhub takes HTTP requests
    assert "event_subscriptions" not in manifest["settings"]  # pmhub reads no Events API
