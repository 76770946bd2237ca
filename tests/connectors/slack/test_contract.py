"""Both sides of every Slack call checked against Slack's published documents.

The connector drives the fake through every method pmhub uses and through the
documented failures; each recorded request (what slack_sdk sent for us) and each
answer (what the fake said) is validated against the trimmed Swagger document and
the method docs. Every error string the fake can answer is checked to be documented.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
from collections.abc import Awaitable

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.blocks import ChatMessage
from connectors.slack.client import MessageRef, SlackClient
from connectors.slack.fake import FakeSlack, _authorized
from connectors.slack.fake import api as fake_api
from hub.errors import ConnectorError
from tests.connectors.slack.conftest import ALICE, ALICE_EMAIL, INCIDENTS, ConnectorFactory
from tests.connectors.slack.contract import ContractViolation, SlackContract

METHODS = {
    "users.lookupByEmail",
    "conversations.open",
    "chat.postMessage",
    "chat.update",
    "conversations.history",
}
MESSAGE = ChatMessage(
    text="Post-mortem for PD-1",
    blocks=({"type": "section", "text": {"type": "mrkdwn", "text": "*PD-1*"}},),
)


async def _tolerate(call: Awaitable[object]) -> None:
    with contextlib.suppress(ConnectorError):
        await call


async def exercise(connector: SlackConnector, wrong: SlackConnector, fake: FakeSlack) -> None:
    fake.max_page_size = 1
    await connector.lookup_user(ALICE_EMAIL)
    await connector.lookup_user("nobody@example.com")
    ref = await connector.post(ALICE, MESSAGE, effect_key="pm:x:owner")
    await connector.update(ref, ChatMessage(text="Accepted"))
    fake.add_message(ref.channel, "thanks!")
    await connector.post(INCIDENTS, MESSAGE, effect_key="pm:x:announce", unknown_outcome=True)
    await connector.find_posted(ref.channel, "pm:x:owner")
    await connector.find_posted(ref.channel, "pm:x:nothing")
    # Documented failures.
    await _tolerate(connector.open_dm("U0NOBODY01"))
    await _tolerate(connector.post("C0NOSUCHCH", MESSAGE, effect_key="k"))
    await _tolerate(connector.update(MessageRef(INCIDENTS, "1700000000.000001"), MESSAGE))
    await _tolerate(connector.find_posted("C0NOSUCHCH", "k"))
    await _tolerate(wrong.lookup_user(ALICE_EMAIL))
    fake.rate_limit(retry_after=3, method="chat.postMessage")
    await _tolerate(connector.post(INCIDENTS, MESSAGE, effect_key="k"))


def documented(fault: str | None) -> bool:
    # Injected 5xx, hangs and drops are outside Slack's contract (and may have no answer).
    return fault in (None, "rate_limit", "error")


async def test_every_request_and_answer_matches_the_documents(
    make_connector: ConnectorFactory, fake: FakeSlack, contract: SlackContract
) -> None:
    await exercise(make_connector(), make_connector(bot_token=SecretStr("xoxb-nope")), fake)

    seen: set[str] = set()
    errors: set[str] = set()
    for exchange in fake.exchanges:
        if not documented(exchange.fault):
            continue
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

    assert seen == METHODS
    assert errors == {
        "users_not_found",
        "user_not_found",
        "channel_not_found",
        "message_not_found",
        "invalid_auth",
        "ratelimited",
    }


async def test_history_pages_are_documented_even_when_empty(
    connector: SlackConnector, fake: FakeSlack, contract: SlackContract
) -> None:
    await connector.find_posted(INCIDENTS, "pm:x:nothing")
    [exchange] = fake.exchanges
    assert exchange.response["messages"] == []
    contract.validate_response("conversations.history", 200, exchange.response)


async def test_doctors_reads_are_documented(
    base_url: str, session: aiohttp.ClientSession, fake: FakeSlack, contract: SlackContract
) -> None:
    # `pmhub doctor` (connectors/slack/doctor.py): auth.test, and a one-message history
    # read that answers `not_in_channel` for a channel the bot is not in.
    fake.not_member.add(INCIDENTS)
    config = SlackConfig(
        bot_token=SecretStr(fake.token), base_url=f"{base_url}/api/", incidents_channel=INCIDENTS
    )
    client = SlackClient(config, session)
    identity, scopes = await client.identity()
    refusal = await client.channel_refusal(INCIDENTS)
    assert identity["user_id"] == "U0PMHUBBOT"
    assert scopes == frozenset(fake.scopes)
    assert refusal == "not_in_channel"
    for exchange in fake.exchanges:
        contract.validate_response(exchange.api_method, exchange.status or 0, exchange.response)
        assert exchange.response_headers["x-oauth-scopes"] == ",".join(sorted(fake.scopes))


def _strings_passed_to_fail(function: object) -> set[str]:
    tree = ast.parse(inspect.getsource(function))  # type: ignore[arg-type]
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "fail"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def _strings_returned(function: object) -> set[str]:
    tree = ast.parse(inspect.getsource(function))  # type: ignore[arg-type]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            found |= {
                leaf.value
                for leaf in ast.walk(node.value)
                if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str)
            }
    return found


def test_every_error_the_fake_can_answer_is_documented(contract: SlackContract) -> None:
    auth = _strings_returned(_authorized)
    message = _strings_returned(fake_api._message_errors)
    assert {"not_authed", "invalid_auth"} <= auth
    assert "invalid_blocks" in message
    for method, handler in fake_api.METHODS.items():
        possible = _strings_passed_to_fail(handler) | auth
        if "_message_errors" in inspect.getsource(handler):
            possible |= message
        # A 429's `ratelimited` is Slack's common rate-limit answer, checked by status.
        undocumented = possible - contract.documented_errors(method) - {"ratelimited"}
        assert not undocumented, f"{method}: {sorted(undocumented)}"


# Slack's own examples disagree with Slack's own schemas in these ways (and only these):
# legacy attachments in the examples carry fields (`text`, `service_name`, thumbs) that
# objs_message's attachment items forbid (additionalProperties: false); and the history
# examples leave out two fields both documents require (the fake sends them).
LEGACY_ATTACHMENT = "/attachments/0: Additional properties are not allowed"
EXAMPLE_DEFECTS = {
    "conversations.history": (
        LEGACY_ATTACHMENT,
        "'channel_actions_ts' is a required property",
        "'channel_actions_count' is a required property",
    ),
    "chat.postMessage": (LEGACY_ATTACHMENT,),
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_slacks_own_example_answers_pass_the_checker(contract: SlackContract, method: str) -> None:
    examples = contract.example_answers(method)
    assert examples
    known = EXAMPLE_DEFECTS.get(method, ())
    for example in examples:
        problems = _violations(contract, method, example)
        assert all(any(k in p for k in known) for p in problems), problems


def _violations(contract: SlackContract, method: str, answer: object) -> list[str]:
    try:
        contract.validate_response(method, 200, answer)
    except ContractViolation as exc:
        return str(exc).splitlines()[1:]
    return []


# -- the checker has teeth -------------------------------------------------------------

BEARER = {"Authorization": "Bearer xoxb-1"}


def test_a_token_in_the_arguments_is_a_violation(contract: SlackContract) -> None:
    with pytest.raises(ContractViolation, match="Bearer"):
        contract.validate_request(
            "GET", "users.lookupByEmail", query=[("token", "x"), ("email", "a@b.c")]
        )


def test_undocumented_or_missing_arguments_are_violations(contract: SlackContract) -> None:
    with pytest.raises(ContractViolation, match="'include_metadata' is not documented"):
        contract.validate_request(
            "GET",
            "conversations.history",
            query=[("channel", INCIDENTS), ("include_metadata", "1")],
            headers=BEARER,
        )
    with pytest.raises(ContractViolation, match="'channel' is missing"):
        contract.validate_request(
            "POST",
            "chat.postMessage",
            headers=BEARER,
            body={"text": "x"},
            content_type="application/json",
        )


def test_wrong_types_and_verbs_are_violations(contract: SlackContract) -> None:
    with pytest.raises(ContractViolation, match="not JSON"):
        contract.validate_request(
            "POST",
            "chat.postMessage",
            headers=BEARER,
            body={"channel": INCIDENTS, "blocks": "[{"},
            content_type="application/x-www-form-urlencoded",
        )
    with pytest.raises(ContractViolation, match="not a boolean"):
        contract.validate_request(
            "GET",
            "conversations.history",
            query=[("channel", INCIDENTS), ("include_all_metadata", "yes")],
            headers=BEARER,
        )
    with pytest.raises(ContractViolation, match="documented as GET"):
        contract.validate_request(
            "POST", "users.lookupByEmail", query=[("email", "a@b.c")], headers=BEARER
        )


def test_undocumented_errors_and_misshapen_answers_are_violations(
    contract: SlackContract,
) -> None:
    with pytest.raises(ContractViolation, match="not documented"):
        contract.validate_response("chat.update", 200, {"ok": False, "error": "no_such_thing"})
    with pytest.raises(ContractViolation, match="'ts' is a required property"):
        contract.validate_response("chat.postMessage", 200, {"ok": True, "channel": INCIDENTS})
    with pytest.raises(ContractViolation, match="429"):
        contract.validate_response("chat.postMessage", 429, {"ok": False, "error": "ratelimited"})
