"""The incident channel read for the timeline: pages, threads, joins, pins, reactions, limits."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.slack import SlackChannelHistory, SlackConfig
from connectors.slack.fake import FakeSlack
from connectors.slack.fake import api as fake_api
from hub.errors import AuthFailed, ConnectorError, Permanent, RateLimited
from hub.ports import EntryKind, HistorySource
from tests.connectors.slack.conftest import ALICE, BOB, INCIDENTS
from tests.connectors.slack.contract import SlackContract
from tests.connectors.slack.test_contract import _strings_passed_to_fail

CHANNEL = "C0INC1042X"
HistoryFactory = Callable[..., SlackChannelHistory]


@pytest.fixture
def make_history(base_url: str, session: aiohttp.ClientSession) -> HistoryFactory:
    def make(*, waits: list[float] | None = None, **overrides: object) -> SlackChannelHistory:
        settings: dict[str, object] = {
            "bot_token": SecretStr(FakeSlack.token),
            "base_url": f"{base_url}/api/",
            "incidents_channel": INCIDENTS,
            "timeout_seconds": 5,
            **overrides,
        }
        config = SlackConfig.model_validate(settings)

        async def record(seconds: float) -> None:
            if waits is not None:
                waits.append(seconds)  # no real waiting in tests

        return SlackChannelHistory.from_config(config, session, sleep=record)

    return make


@pytest.fixture
def incident_channel(fake: FakeSlack) -> dict[str, str]:
    """#inc-1042: joins, talk, a thread, a pin, a :pushpin: reaction, a bot."""
    fake.add_channel(CHANNEL, "inc-1042-checkout-5xx")
    ts = {}
    ts["join_alice"] = fake.join(CHANNEL, ALICE)["ts"]
    ts["hello"] = fake.add_message(CHANNEL, "Checkout 5xx spiking, looking", user=ALICE)["ts"]
    ts["join_bob"] = fake.join(CHANNEL, BOB)["ts"]
    ts["cause"] = fake.add_message(
        CHANNEL, "It's the config push at 08:50", user=BOB, reactions={"pushpin": [ALICE]}
    )["ts"]
    ts["reply"] = fake.add_message(CHANNEL, "Rolling back now", user=ALICE, thread_ts=ts["cause"])[
        "ts"
    ]
    ts["zoom"] = fake.add_message(
        CHANNEL, "Bridge: https://zoom.us/j/123456", user=ALICE, reactions={"eyes": [BOB]}
    )["ts"]
    fake.pin(CHANNEL, ts["zoom"], by=ALICE)
    ts["todo"] = fake.add_message(CHANNEL, "TODO: alert on config drift", user=BOB)["ts"]
    return ts


async def test_reads_the_whole_channel_oldest_first(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    read = await make_history().read_channel(CHANNEL, limit=100)

    assert not read.truncated
    assert [e.id for e in read.entries] == list(incident_channel.values())
    by_id = {e.id: e for e in read.entries}
    join = by_id[incident_channel["join_alice"]]
    assert join.kind is EntryKind.JOINED
    assert join.actor is not None
    assert join.actor.vendor_id == ALICE
    assert join.vendor_type == "channel_join"
    cause = by_id[incident_channel["cause"]]
    assert cause.has_reaction(":pushpin:")
    assert cause.reactions == (("pushpin", 1),)
    reply = by_id[incident_channel["reply"]]
    assert reply.thread_id == incident_channel["cause"]
    assert reply.text == "Rolling back now"
    zoom = by_id[incident_channel["zoom"]]
    assert zoom.pinned
    assert not cause.pinned
    assert all(e.source is HistorySource.SLACK for e in read.entries)
    assert read.entries[0].at == datetime.fromtimestamp(float(incident_channel["join_alice"]), UTC)


async def test_permalinks_cost_one_call(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    read = await make_history().read_channel(CHANNEL, limit=100)

    by_id = {e.id: e for e in read.entries}
    for name, ts in incident_channel.items():
        message = fake.find_message(CHANNEL, ts)
        assert message is not None
        assert by_id[ts].link == fake.permalink(CHANNEL, message), name
    assert "?thread_ts=" in (by_id[incident_channel["reply"]].link or "")
    assert fake.calls["chat.getPermalink"] == 1


async def test_an_unfamiliar_permalink_form_is_asked_for_each_message(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    fake.domain = "acme.enterprise.slack.com/x"  # not the documented form
    read = await make_history().read_channel(CHANNEL, limit=100)
    unpinned = [e for e in read.entries if not e.pinned]
    assert fake.calls["chat.getPermalink"] == len(unpinned)
    assert all(e.link for e in read.entries)


async def test_pages_are_followed(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    read = await make_history(history_page_size=2).read_channel(CHANNEL, limit=100)
    assert len(read.entries) == len(incident_channel)
    assert fake.calls["conversations.history"] == 3  # 6 top-level messages, 2 a page


async def test_long_threads_are_paged(make_history: HistoryFactory, fake: FakeSlack) -> None:
    fake.add_channel(CHANNEL, "inc")
    parent = fake.add_message(CHANNEL, "status?", user=ALICE)["ts"]
    for n in range(5):
        fake.add_message(CHANNEL, f"update {n}", user=BOB, thread_ts=parent)
    read = await make_history(history_page_size=2).read_channel(CHANNEL, limit=100)
    assert [e.text for e in read.entries] == ["status?", *(f"update {n}" for n in range(5))]
    assert fake.calls["conversations.replies"] == 3


async def test_a_cap_cuts_the_read_and_says_so(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    read = await make_history(history_page_size=2).read_channel(CHANNEL, limit=3)
    assert read.truncated
    assert len(read.entries) == 3
    # Slack pages newest first: the newest messages are kept.
    assert read.entries[-1].id == incident_channel["todo"]
    assert fake.calls["conversations.history"] == 2


async def test_a_cap_reached_in_a_thread(make_history: HistoryFactory, fake: FakeSlack) -> None:
    fake.add_channel(CHANNEL, "inc")
    parent = fake.add_message(CHANNEL, "status?", user=ALICE)["ts"]
    for n in range(4):
        fake.add_message(CHANNEL, f"update {n}", user=BOB, thread_ts=parent)
    read = await make_history().read_channel(CHANNEL, limit=3)
    assert read.truncated
    assert [e.text for e in read.entries] == ["status?", "update 0", "update 1"]


async def test_the_window_limits_the_read(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    # Both ends included, as Slack's `inclusive` says.
    since = datetime.fromtimestamp(float(incident_channel["join_bob"]), UTC)
    until = datetime.fromtimestamp(float(incident_channel["zoom"]), UTC)
    read = await make_history().read_channel(CHANNEL, since=since, until=until, limit=100)
    assert [e.id for e in read.entries] == [
        incident_channel[k] for k in ("join_bob", "cause", "reply", "zoom")
    ]


async def test_rate_limits_are_waited_out(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    waits: list[float] = []
    fake.rate_limit(retry_after=7, times=2, method="conversations.history")
    fake.rate_limit(retry_after=3, times=1, method="conversations.replies")
    read = await make_history(waits=waits).read_channel(CHANNEL, limit=100)
    assert len(read.entries) == len(incident_channel)
    assert waits == [7, 7, 3]


async def test_patience_runs_out(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    waits: list[float] = []
    fake.rate_limit(retry_after=60, times=None, method="conversations.history")
    with pytest.raises(RateLimited) as caught:
        await make_history(waits=waits, history_max_wait_seconds=150).read_channel(
            CHANNEL, limit=100
        )
    assert waits == [60, 60]
    assert caught.value.retry_after == 60


async def test_errors(
    make_history: HistoryFactory, fake: FakeSlack, incident_channel: dict[str, str]
) -> None:
    with pytest.raises(Permanent, match="channel_not_found"):
        await make_history().read_channel("C0NOSUCHCH", limit=10)
    fake.error("missing_scope", method="pins.list")
    with pytest.raises(Permanent, match="missing_scope"):
        await make_history().read_channel(CHANNEL, limit=10)
    with pytest.raises(AuthFailed):
        await make_history(bot_token=SecretStr("xoxb-wrong")).read_channel(CHANNEL, limit=10)


async def test_every_history_call_matches_slacks_documents(
    make_history: HistoryFactory,
    fake: FakeSlack,
    incident_channel: dict[str, str],
    contract: SlackContract,
) -> None:
    waits: list[float] = []
    fake.rate_limit(retry_after=2, times=1, method="conversations.replies")
    await make_history(waits=waits, history_page_size=2).read_channel(CHANNEL, limit=100)
    fake.domain = "acme.enterprise.slack.com/x"
    await make_history().read_channel(CHANNEL, limit=100)
    for call in (
        make_history().read_channel("C0NOSUCHCH", limit=5),
        make_history(bot_token=SecretStr("xoxb-wrong")).read_channel(CHANNEL, limit=5),
    ):
        with contextlib.suppress(ConnectorError):
            await call

    seen, errors = set(), set()
    for exchange in fake.exchanges:
        contract.validate_request(
            exchange.http_method,
            exchange.api_method,
            query=exchange.query,
            headers=exchange.headers,
            body=exchange.body,
            content_type=exchange.content_type,
        )
        assert exchange.status is not None
        contract.validate_response(
            exchange.api_method, exchange.status, exchange.response, exchange.response_headers
        )
        seen.add(exchange.api_method)
        if not exchange.response["ok"]:
            errors.add(exchange.response["error"])
    assert seen == {
        "conversations.history",
        "conversations.replies",
        "pins.list",
        "chat.getPermalink",
    }
    assert errors == {"channel_not_found", "invalid_auth", "ratelimited"}


def test_the_new_methods_fake_errors_are_documented(contract: SlackContract) -> None:
    for method, function in [
        ("conversations.replies", fake_api.conversations_replies),
        ("pins.list", fake_api.pins_list),
        ("chat.getPermalink", fake_api.chat_get_permalink),
    ]:
        answered = _strings_passed_to_fail(function)
        assert answered
        assert answered <= contract.documented_errors(method), method
