"""The Slack connector against its fake over loopback: people, DMs, posts, edits, replies."""

from __future__ import annotations

import time

import aiohttp
import pytest
from pydantic import SecretStr, ValidationError

from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.blocks import ChatMessage
from connectors.slack.client import MessageRef, SlackClient
from connectors.slack.connector import UPDATE_INTERVAL_SECONDS
from connectors.slack.fake import FakeSlack
from connectors.slack.notifier import SlackNotifier
from hub.errors import AuthFailed, Permanent, RateLimited, Transient
from hub.ports import Notifier
from tests.connectors.slack.conftest import (
    ALICE,
    ALICE_EMAIL,
    ARCHIVED,
    BOB,
    INCIDENTS,
    REVIEWS,
    ConnectorFactory,
)

HELLO = ChatMessage(
    text="Hello from pmhub",
    blocks=({"type": "section", "text": {"type": "mrkdwn", "text": "*Hello* from pmhub"}},),
)


def test_the_notifier_on_the_connector_is_the_cores_notifier(connector: SlackConnector) -> None:
    config = SlackConfig(bot_token=SecretStr(FakeSlack.token), incidents_channel=INCIDENTS)
    notifier: Notifier = SlackNotifier(connector, config)  # mypy checks the Protocol
    assert isinstance(notifier, SlackNotifier)


# -- people ---------------------------------------------------------------------------


async def test_lookup_finds_the_user_and_caches_it(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    assert await connector.lookup_user(ALICE_EMAIL) == ALICE
    assert await connector.lookup_user(" Alice@Example.com ") == ALICE
    assert fake.calls["users.lookupByEmail"] == 1


async def test_someone_without_slack_is_none_not_an_error(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    assert await connector.lookup_user("nobody@example.com") is None
    assert await connector.lookup_user("nobody@example.com") is None
    assert fake.calls["users.lookupByEmail"] == 1  # the miss is cached too (briefly)


async def test_cached_lookups_expire(
    fake: FakeSlack, base_url: str, session: aiohttp.ClientSession
) -> None:
    now = [1000.0]
    config = SlackConfig(
        bot_token=SecretStr(fake.token), base_url=f"{base_url}/api/", incidents_channel=INCIDENTS
    )
    connector = SlackConnector(
        SlackClient(config, session), user_cache_seconds=60, clock=lambda: now[0]
    )
    await connector.lookup_user(ALICE_EMAIL)
    await connector.lookup_user("nobody@example.com")
    now[0] += 59
    await connector.lookup_user(ALICE_EMAIL)
    await connector.lookup_user("nobody@example.com")
    assert fake.calls["users.lookupByEmail"] == 2
    now[0] += 2
    await connector.lookup_user(ALICE_EMAIL)
    await connector.lookup_user("nobody@example.com")
    assert fake.calls["users.lookupByEmail"] == 4


# -- DMs ------------------------------------------------------------------------------


async def test_a_dm_goes_to_the_users_dm_channel_opened_once(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    first = await connector.post(ALICE, HELLO, effect_key="pm:x:owner:notify")
    second = await connector.post(ALICE, HELLO, effect_key="pm:x:remind:1")

    dm = fake.dms[ALICE]
    assert first.channel == second.channel == dm
    assert fake.calls["conversations.open"] == 1
    assert [m["text"] for m in fake.posts(dm)] == ["Hello from pmhub"] * 2
    assert fake.dms.keys() == {ALICE}  # nobody else got a DM
    assert await connector.open_dm(ALICE) == dm


async def test_opening_a_dm_with_an_unknown_user_is_permanent(connector: SlackConnector) -> None:
    with pytest.raises(Permanent, match="user_not_found"):
        await connector.open_dm("U0NOBODY01")


# -- posting and editing ----------------------------------------------------------------


async def test_a_post_carries_its_effect_key_as_metadata(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    ref = await connector.post(INCIDENTS, HELLO, effect_key="pm:pagerduty:P1:announce")

    [message] = fake.posts(INCIDENTS)
    assert ref == MessageRef(INCIDENTS, message["ts"])
    assert message["metadata"] == {
        "event_type": "pmhub_effect",
        "event_payload": {"effect_key": "pm:pagerduty:P1:announce"},
    }
    assert message["blocks"] == [dict(HELLO.blocks[0])]


async def test_update_edits_in_place(connector: SlackConnector, fake: FakeSlack) -> None:
    ref = await connector.post(ALICE, HELLO, effect_key="pm:x:owner:notify")
    edited = ChatMessage(text="Meeting booked", blocks=())

    assert await connector.update(ref, edited) == ref
    [message] = fake.posts(ref.channel)
    assert message["text"] == "Meeting booked"
    assert "blocks" not in message  # blocks=[] removes the old ones
    assert message["metadata"]["event_payload"] == {"effect_key": "pm:x:owner:notify"}
    assert await connector.find_posted(ref.channel, "pm:x:owner:notify") == ref


async def test_updating_a_message_that_is_gone_is_permanent(connector: SlackConnector) -> None:
    with pytest.raises(Permanent, match="message_not_found"):
        await connector.update(MessageRef(INCIDENTS, "1700000000.000001"), HELLO)


# -- exactly once -----------------------------------------------------------------------


async def test_find_posted_reads_history_pages(connector: SlackConnector, fake: FakeSlack) -> None:
    ref = await connector.post(INCIDENTS, HELLO, effect_key="pm:x:announce")
    for n in range(5):
        fake.add_message(INCIDENTS, f"human chatter {n}")
    fake.max_page_size = 2

    assert await connector.find_posted(INCIDENTS, "pm:x:announce") == ref
    assert fake.calls["conversations.history"] == 3
    assert await connector.find_posted(INCIDENTS, "pm:x:other") is None


async def test_find_posted_is_bounded(make_connector: ConnectorFactory, fake: FakeSlack) -> None:
    connector = make_connector(find_max_pages=2)
    await connector.post(INCIDENTS, HELLO, effect_key="pm:x:announce")
    for n in range(10):
        fake.add_message(INCIDENTS, f"human chatter {n}")
    fake.max_page_size = 2

    assert await connector.find_posted(INCIDENTS, "pm:x:announce") is None
    assert fake.calls["conversations.history"] == 2


async def test_commit_then_drop_then_retry_posts_exactly_once(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    fake.drop_after_commit(method="chat.postMessage")
    with pytest.raises(Transient):
        await connector.post(ALICE, HELLO, effect_key="pm:x:owner:notify")
    dm = fake.dms[ALICE]
    assert len(fake.posts(dm)) == 1  # Slack stored it; we never heard

    ref = await connector.post(ALICE, HELLO, effect_key="pm:x:owner:notify", unknown_outcome=True)

    [message] = fake.posts(dm)
    assert ref == MessageRef(dm, message["ts"])
    # One attempt each: no SDK retry handler re-sent the dropped post behind our back.
    assert fake.calls["chat.postMessage"] == 1


async def test_unknown_outcome_that_never_arrived_posts(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    ref = await connector.post(INCIDENTS, HELLO, effect_key="pm:x:a", unknown_outcome=True)

    assert [m["ts"] for m in fake.posts(INCIDENTS)] == [ref.ts]
    assert fake.calls["conversations.history"] == 1


async def test_a_known_failure_is_not_retried_by_the_sdk(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    fake.fail(503, method="chat.postMessage")
    with pytest.raises(Transient, match="503"):
        await connector.post(INCIDENTS, HELLO, effect_key="pm:x:a")
    assert fake.calls["chat.postMessage"] == 1
    assert fake.posts(INCIDENTS) == []


# -- rate limits and pacing -----------------------------------------------------------


async def test_429_is_rate_limited_with_retry_after(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    fake.rate_limit(retry_after=7, method="chat.postMessage")
    with pytest.raises(RateLimited) as caught:
        await connector.post(INCIDENTS, HELLO, effect_key="pm:x:a")
    assert caught.value.retry_after == 7


async def test_posting_faster_than_slack_allows_gets_429(
    make_connector: ConnectorFactory, fake: FakeSlack
) -> None:
    fake.min_post_interval = 1.0
    unpaced = make_connector(post_interval_seconds=0)
    await unpaced.post(INCIDENTS, HELLO, effect_key="pm:x:a")
    with pytest.raises(RateLimited) as caught:
        await unpaced.post(INCIDENTS, HELLO, effect_key="pm:x:b")
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1
    assert fake.rate_limited[INCIDENTS] == 1


async def test_pmhub_paces_itself_per_channel(
    make_connector: ConnectorFactory, fake: FakeSlack
) -> None:
    fake.min_post_interval = 1.0
    paced = make_connector(post_interval_seconds=1.0)

    await paced.post(INCIDENTS, HELLO, effect_key="pm:x:a")
    await paced.post(INCIDENTS, HELLO, effect_key="pm:x:b")
    await paced.post(ALICE, HELLO, effect_key="pm:x:c")  # another channel: no wait needed

    assert sum(fake.rate_limited.values()) == 0
    assert all(exchange.status != 429 for exchange in fake.exchanges)
    assert len(fake.posts(INCIDENTS)) == 2


# -- error mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", ["invalid_auth", "not_authed", "account_inactive", "token_revoked"]
)
async def test_credential_errors_are_auth_failed(
    connector: SlackConnector, fake: FakeSlack, error: str
) -> None:
    fake.error(error, method="chat.postMessage")
    with pytest.raises(AuthFailed, match=error):
        await connector.post(INCIDENTS, HELLO, effect_key="pm:x:a")


async def test_a_wrong_token_is_auth_failed_and_never_quoted(
    make_connector: ConnectorFactory,
) -> None:
    connector = make_connector(bot_token=SecretStr("xoxb-wrong-secret"))
    with pytest.raises(AuthFailed, match="invalid_auth") as caught:
        await connector.lookup_user(ALICE_EMAIL)
    assert "xoxb-wrong-secret" not in str(caught.value)


async def test_channel_errors_are_permanent(connector: SlackConnector, fake: FakeSlack) -> None:
    with pytest.raises(Permanent, match="channel_not_found"):
        await connector.post("C0NOSUCHCH", HELLO, effect_key="pm:x:a")
    with pytest.raises(Permanent, match="is_archived"):
        await connector.post(ARCHIVED, HELLO, effect_key="pm:x:a")
    fake.not_member.add(INCIDENTS)
    with pytest.raises(Permanent, match="not_in_channel"):
        await connector.post(INCIDENTS, HELLO, effect_key="pm:x:a")


async def test_message_errors_are_permanent(connector: SlackConnector) -> None:
    broken = ChatMessage(text="x", blocks=({"text": "a block without a type"},))
    with pytest.raises(Permanent, match="invalid_blocks"):
        await connector.post(INCIDENTS, broken, effect_key="pm:x:a")
    with pytest.raises(Permanent, match="msg_too_long"):
        await connector.post(INCIDENTS, ChatMessage(text="x" * 40_001), effect_key="pm:x:b")


@pytest.mark.parametrize("error", ["fatal_error", "internal_error", "request_timeout"])
async def test_slacks_own_trouble_is_transient(
    connector: SlackConnector, fake: FakeSlack, error: str
) -> None:
    fake.error(error, method="users.lookupByEmail")
    with pytest.raises(Transient, match=error):
        await connector.lookup_user(ALICE_EMAIL)


async def test_5xx_is_transient(connector: SlackConnector, fake: FakeSlack) -> None:
    fake.fail(500, method="conversations.history")
    with pytest.raises(Transient, match="500"):
        await connector.find_posted(INCIDENTS, "pm:x:a")


async def test_no_answer_in_time_is_transient(
    make_connector: ConnectorFactory, fake: FakeSlack
) -> None:
    connector = make_connector(timeout_seconds=0.3)
    fake.hang(method="chat.postMessage")
    with pytest.raises(Transient, match="no answer in time"):
        await connector.post(INCIDENTS, HELLO, effect_key="pm:x:a")


async def test_nobody_listening_is_transient(session: aiohttp.ClientSession) -> None:
    config = SlackConfig(
        bot_token=SecretStr("xoxb-x"),
        base_url="http://127.0.0.1:9/api/",  # discard port: refused
        incidents_channel=INCIDENTS,
        timeout_seconds=2,
    )
    with pytest.raises(Transient):
        await SlackConnector.from_config(config, session).lookup_user(ALICE_EMAIL)


# -- command replies ----------------------------------------------------------------------


async def test_respond_posts_to_the_response_url(
    connector: SlackConnector, fake: FakeSlack, base_url: str
) -> None:
    url = fake.response_url(base_url)
    await connector.respond(url, HELLO)
    await connector.respond(url, ChatMessage(text="for everyone"), ephemeral=False)

    [first, second] = next(iter(fake.replies.values()))
    assert first["response_type"] == "ephemeral"
    assert first["text"] == "Hello from pmhub"
    assert first["blocks"] == [dict(HELLO.blocks[0])]
    assert second["response_type"] == "in_channel"
    assert "blocks" not in second
    # No Web API token goes to a response_url.
    assert all("Authorization" not in e.headers for e in fake.exchanges)


async def test_a_used_up_response_url_is_permanent(
    connector: SlackConnector, fake: FakeSlack, base_url: str
) -> None:
    url = fake.response_url(base_url)
    for _ in range(5):
        await connector.respond(url, HELLO)
    with pytest.raises(Permanent, match="used_url"):
        await connector.respond(url, HELLO)
    with pytest.raises(Permanent, match="404"):
        await connector.respond(f"{base_url}/commands/T0PMHUB001/999/nope", HELLO)


async def test_response_url_trouble_is_transient(
    connector: SlackConnector, fake: FakeSlack, base_url: str
) -> None:
    url = fake.response_url(base_url)
    fake.fail(502, method="response_url")
    with pytest.raises(Transient, match="502"):
        await connector.respond(url, HELLO)
    fake.rate_limit(retry_after=3, method="response_url")
    with pytest.raises(RateLimited) as caught:
        await connector.respond(url, HELLO)
    assert caught.value.retry_after == 3


# -- configuration ------------------------------------------------------------------------


def test_channels_are_configured_by_id() -> None:
    with pytest.raises(ValidationError, match="not a channel id"):
        SlackConfig(bot_token=SecretStr("x"), incidents_channel="#incidents")
    config = SlackConfig(
        bot_token=SecretStr("x"), base_url="http://fake/api", incidents_channel=INCIDENTS
    )
    assert config.base_url == "http://fake/api/"
    assert config.review_channel == INCIDENTS
    with pytest.raises(ValidationError, match="not a channel id"):
        SlackConfig(bot_token=SecretStr("x"), incidents_channel=BOB)  # a person, not a channel
    assert "xoxb" not in repr(
        SlackConfig(bot_token=SecretStr("xoxb-1"), incidents_channel=INCIDENTS)
    )


async def test_roll_up_edits_keep_within_chat_updates_tier_3(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    # Tier 3 is "50+ per minute" per workspace: edits of a storm's roll-ups come
    # 1.2 s apart at the least, whichever messages they edit. (A lower bound only:
    # a slow machine cannot make this fail.)
    first = await connector.post(INCIDENTS, HELLO, effect_key="rollup:a")
    second = await connector.post(REVIEWS, HELLO, effect_key="rollup:b")
    started = time.monotonic()
    for ref in (first, second, first):
        await connector.update_paced(ref, HELLO)
    assert time.monotonic() - started >= 2 * UPDATE_INTERVAL_SECONDS
    assert fake.calls["chat.update"] == 3
