"""Slack Web API transport: the official `slack_sdk` AsyncWebClient on the daemon's session.

Why the SDK: it is Slack's maintained client and knows each method's encoding (JSON
bodies for chat.*, query strings for the rest), the Bearer header and the response
envelope. Three of its defaults are wrong for pmhub and are switched off here:

* retry handlers: `AsyncWebClient` installs `async_default_handlers()` (one retry on
  a dropped or reset connection) unless given a list. A post whose connection drops
  after Slack stored the message would then be sent twice, silently. `retry_handlers=[]`
  leaves every retry to pmhub's durable jobs, which look for the earlier message first.
  (The 429 handler is not a default; it is not installed either.)
* timeout: the SDK applies its `timeout` only to sessions it creates itself; on a shared
  session a request waits as long as the session allows. Each call is therefore bounded
  here with `asyncio.timeout(timeout_seconds)`.
* errors: `SlackApiError` for every not-ok answer, aiohttp's exceptions for everything
  else. All of it leaves this module as `hub.errors` types, and never with the token.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from connectors.common.retry_after import parse_retry_after
from connectors.slack.config import SlackConfig
from hub.errors import AuthFailed, ConnectorError, Permanent, RateLimited, Transient

T = TypeVar("T")
JsonDict = dict[str, Any]

HTTP_OK = 200
HTTP_TOO_MANY_REQUESTS = 429
HTTP_REQUEST_TIMEOUT = 408
HTTP_SERVER_ERROR = 500

# Slack's answers by meaning (docs.slack.dev, each method's "Errors" and the common ones).
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
# `ratelimited` comes with HTTP 429; `rate_limited` is chat.postMessage's own, older name.
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited", "message_limit_exceeded"})
# Slack's side had trouble; the same call may well work later.
TRANSIENT_ERRORS = frozenset(
    {"fatal_error", "internal_error", "request_timeout", "service_unavailable"}
)
USERS_NOT_FOUND = "users_not_found"
# views.open: the trigger (3 seconds, single use) can no longer open anything.
EXPIRED_TRIGGER, EXCHANGED_TRIGGER = "expired_trigger_id", "exchanged_trigger_id"
TRIGGER_SPENT_ERRORS = frozenset({EXPIRED_TRIGGER, EXCHANGED_TRIGGER})


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a posted message lives: enough to edit it later (its channel id and ts)."""

    channel: str
    ts: str


class TriggerSpent(Permanent):
    """views.open refused an expired or already used trigger; `error` says which."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(reason)
        self.error = error


def _status(response: Any) -> int | None:
    # An AsyncSlackResponse has `status_code`; for a body it could not parse the SDK
    # hands over aiohttp's own response, which has `status`.
    for name in ("status_code", "status"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            return value
    return None


def _body(response: Any) -> Mapping[str, Any]:
    data = getattr(response, "data", None)
    return data if isinstance(data, Mapping) else {}


def error_for(exc: SlackApiError, what: str) -> ConnectorError:
    """Map a not-ok answer: by Slack's `error` string first, then by HTTP status."""
    response = exc.response
    status = _status(response)
    error = str(_body(response).get("error") or "")
    headers = getattr(response, "headers", None) or {}
    retry_after = parse_retry_after(headers.get("Retry-After"))
    message = f"Slack {what}: {error or 'no error given'} (HTTP {status})"
    if status == HTTP_TOO_MANY_REQUESTS or error in RATE_LIMIT_ERRORS:
        return RateLimited(message, retry_after=retry_after)
    if error in AUTH_ERRORS:
        return AuthFailed(message)
    if error in TRIGGER_SPENT_ERRORS:
        return TriggerSpent(message, error)
    if (
        status is None
        or status >= HTTP_SERVER_ERROR
        or status == HTTP_REQUEST_TIMEOUT
        or error in TRANSIENT_ERRORS
    ):
        return Transient(message, retry_after=retry_after)
    if error:
        return Permanent(message)
    # A 200 without `ok` (a proxy's page, a truncated body): worth another attempt.
    return Transient(message) if status == HTTP_OK else Permanent(message)


EFFECT_EVENT_TYPE = "pmhub_effect"


def metadata_for(effect_key: str) -> JsonDict:
    """Slack message metadata carrying pmhub's effect key (found again by `find_posted`)."""
    return {"event_type": EFFECT_EVENT_TYPE, "event_payload": {"effect_key": effect_key}}


def effect_key_of(message: Mapping[str, Any]) -> str | None:
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != EFFECT_EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    key = payload.get("effect_key") if isinstance(payload, Mapping) else None
    return key if isinstance(key, str) else None


class SlackClient:
    """Typed async calls to the Slack Web API methods pmhub uses."""

    def __init__(self, config: SlackConfig, session: aiohttp.ClientSession) -> None:
        self._session = session
        self._timeout = config.timeout_seconds
        self._web = AsyncWebClient(
            token=config.bot_token.get_secret_value(),
            base_url=config.base_url,
            session=session,
            timeout=math.ceil(config.timeout_seconds),
            retry_handlers=[],
        )

    async def lookup_user_by_email(self, email: str) -> str | None:
        answer = await self._call_or_none(
            "users.lookupByEmail", self._web.users_lookupByEmail(email=email), USERS_NOT_FOUND
        )
        if answer is None:  # no Slack account with that email: not an error
            return None
        user = answer.get("user")
        user_id = user.get("id") if isinstance(user, Mapping) else None
        return _required_str(user_id, "users.lookupByEmail", "user.id")

    async def open_im(self, user_id: str) -> str:
        answer = await self._call("conversations.open", self._web.conversations_open(users=user_id))
        channel = answer.get("channel")
        channel_id = channel.get("id") if isinstance(channel, Mapping) else None
        return _required_str(channel_id, "conversations.open", "channel.id")

    async def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: Sequence[Mapping[str, Any]],
        metadata: Mapping[str, Any],
    ) -> MessageRef:
        answer = await self._call(
            "chat.postMessage",
            self._web.chat_postMessage(
                channel=channel,
                text=text,
                blocks=[dict(block) for block in blocks] or None,
                metadata=dict(metadata),
                # pmhub's own links (the incident, the document) need no preview cards.
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return _ref(answer, "chat.postMessage")

    async def update_message(
        self, ref: MessageRef, *, text: str, blocks: Sequence[Mapping[str, Any]]
    ) -> MessageRef:
        # `blocks=[]` (not None) so an update to a text-only message removes old blocks.
        answer = await self._call(
            "chat.update",
            self._web.chat_update(
                channel=ref.channel, ts=ref.ts, text=text, blocks=[dict(b) for b in blocks]
            ),
        )
        return _ref(answer, "chat.update")

    async def history_page(
        self,
        channel: str,
        *,
        oldest: str,
        cursor: str | None,
        limit: int,
        latest: str | None = None,
        inclusive: bool = False,
    ) -> tuple[list[JsonDict], str | None]:
        """One page of a channel's history, newest first, with metadata; and the next cursor."""
        answer = await self._call(
            "conversations.history",
            self._web.conversations_history(
                channel=channel,
                oldest=oldest,
                latest=latest,
                inclusive=inclusive or None,
                cursor=cursor,
                limit=limit,
                include_all_metadata=True,
            ),
        )
        return _messages(answer), _next_cursor(answer)

    async def replies_page(
        self, channel: str, ts: str, *, cursor: str | None, limit: int
    ) -> tuple[list[JsonDict], str | None]:
        """One page of a thread, oldest first (the parent message first); the next cursor."""
        answer = await self._call(
            "conversations.replies",
            self._web.conversations_replies(channel=channel, ts=ts, cursor=cursor, limit=limit),
        )
        return _messages(answer), _next_cursor(answer)

    async def pins(self, channel: str) -> list[JsonDict]:
        """The channel's pinned items (messages carry their permalink)."""
        answer = await self._call("pins.list", self._web.pins_list(channel=channel))
        return [dict(i) for i in answer.get("items") or () if isinstance(i, Mapping)]

    async def permalink(self, channel: str, ts: str) -> str:
        answer = await self._call(
            "chat.getPermalink", self._web.chat_getPermalink(channel=channel, message_ts=ts)
        )
        return _required_str(answer.get("permalink"), "chat.getPermalink", "permalink")

    async def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> str:
        """Open a modal for the user behind `trigger_id`; the view's id.

        Raises `TriggerSpent` when the trigger expired or was already used.
        """
        answer = await self._call(
            "views.open", self._web.views_open(trigger_id=trigger_id, view=dict(view))
        )
        opened = answer.get("view")
        return _required_str(
            opened.get("id") if isinstance(opened, Mapping) else None, "views.open", "view.id"
        )

    async def respond(self, response_url: str, body: Mapping[str, Any]) -> None:
        """POST a message to a command's response_url (not a Web API method: no token)."""
        hook = AsyncWebhookClient(url=response_url, session=self._session, retry_handlers=[])
        what = "response_url"
        try:
            async with asyncio.timeout(self._timeout):
                answer = await hook.send_dict(dict(body))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _transport_error(what, exc) from None
        if answer.status_code == HTTP_OK:
            return
        retry_after = parse_retry_after(answer.headers.get("Retry-After"))
        message = f"Slack {what}: HTTP {answer.status_code}: {answer.body[:200]}"
        if answer.status_code == HTTP_TOO_MANY_REQUESTS:
            raise RateLimited(message, retry_after=retry_after)
        if answer.status_code >= HTTP_SERVER_ERROR:
            raise Transient(message, retry_after=retry_after)
        # expired_url / used_url / invalid: asking again will not help.
        raise Permanent(message)

    # -- read-only checks for `pmhub doctor` (connectors/slack/doctor.py) --------------

    async def identity(self) -> tuple[Mapping[str, Any], frozenset[str] | None]:
        """auth.test's answer, and the token's scopes from Slack's `x-oauth-scopes`
        header (None when Slack sent none)."""
        response = await self._send("auth.test", self._web.auth_test())
        assert not isinstance(response, str)  # noqa: S101 - no error was accepted
        headers = getattr(response, "headers", None) or {}
        raw = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
        if raw is None:
            return _body(response), None
        return _body(response), frozenset(s.strip() for s in str(raw).split(",") if s.strip())

    async def channel_refusal(self, channel: str) -> str | None:
        """None when the bot can read `channel` (as finding its own earlier posts must);
        else Slack's reason: `not_in_channel` or `channel_not_found`."""
        answer = await self._send(
            "conversations.history",
            self._web.conversations_history(channel=channel, limit=1),
            frozenset({"not_in_channel", "channel_not_found"}),
        )
        return answer if isinstance(answer, str) else None

    async def _call(self, what: str, call: Awaitable[Any]) -> Mapping[str, Any]:
        answer = await self._call_or_none(what, call, None)
        assert answer is not None  # noqa: S101 - only an `absent` error gives None
        return answer

    async def _call_or_none(
        self, what: str, call: Awaitable[Any], absent: str | None
    ) -> Mapping[str, Any] | None:
        """The answer's body; None when Slack answered with the `absent` error."""
        answer = await self._send(what, call, frozenset({absent} if absent else ()))
        return None if isinstance(answer, str) else _body(answer)

    async def _send(
        self, what: str, call: Awaitable[Any], accepted: frozenset[str] = frozenset()
    ) -> Any:
        """The SDK's response; or Slack's error string when it is one of `accepted`."""
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except SlackApiError as exc:
            error = _body(exc.response).get("error")
            if isinstance(error, str) and error in accepted:
                return error
            raise error_for(exc, what) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _transport_error(what, exc) from None
        except SlackClientError as exc:  # the SDK refused to send (a bug of ours)
            raise Permanent(f"Slack {what}: {exc}") from None


def _transport_error(what: str, exc: BaseException) -> Transient:
    # No answer at all: refused, reset, dropped after sending, or too slow. Whether a
    # write took effect is unknown; the caller decides (see SlackConnector.post).
    if isinstance(exc, TimeoutError):
        return Transient(f"Slack {what}: no answer in time")
    return Transient(f"Slack {what}: {type(exc).__name__}: {exc}")


def _required_str(value: object, what: str, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise Transient(f"Slack {what}: the answer has no {field}")
    return value


def _messages(answer: Mapping[str, Any]) -> list[JsonDict]:
    return [dict(m) for m in answer.get("messages") or () if isinstance(m, Mapping)]


def _next_cursor(answer: Mapping[str, Any]) -> str | None:
    meta = answer.get("response_metadata")
    cursor = meta.get("next_cursor") if isinstance(meta, Mapping) else None
    return (cursor or None) if answer.get("has_more") else None


def _ref(answer: Mapping[str, Any], what: str) -> MessageRef:
    channel = _required_str(answer.get("channel"), what, "channel")
    return MessageRef(channel=channel, ts=_required_str(answer.get("ts"), what, "ts"))
