"""The Statuspage connector against its fake over loopback: both modes, exactly once, errors."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.common.pacer import KeyedPacer
from connectors.statuspage import StatuspageConfig, StatuspageConnector
from connectors.statuspage.fake import FakeStatuspage
from hub.errors import AuthFailed, Permanent, RateLimited, Transient
from hub.ports import Publication
from tests.connectors.statuspage.conftest import MARKER, MESSAGE, NAME, ConnectorFactory

INCIDENTS = "/pages/{page_id}/incidents"
INCIDENT = INCIDENTS + "/{incident_id}"


def publication(**overrides: object) -> Publication:
    fields: dict[str, object] = {"incident_name": NAME, "body": MESSAGE, "marker": MARKER}
    return Publication(**{**fields, **overrides})  # type: ignore[arg-type]


def writes(fake: FakeStatuspage, method: str) -> int:
    return sum(1 for e in fake.exchanges if e.method == method)


# -- incident mode ------------------------------------------------------------------


async def test_creates_a_resolved_incident_carrying_the_marker(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    ref = await connector.publish(publication(component_ids=("8kbf7d35c070",)))

    [incident] = fake.incidents.values()
    assert ref.id == incident["id"]
    assert ref.url == incident["shortlink"]
    assert incident["name"] == NAME
    assert incident["status"] == "resolved"
    assert incident["resolved_at"] is not None
    assert incident["metadata"] == {"pmhub": {"effect_key": MARKER}}
    assert [c["id"] for c in incident["components"]] == ["8kbf7d35c070"]
    [update] = incident["incident_updates"]
    assert (update["status"], update["body"]) == ("resolved", MESSAGE)
    [exchange] = fake.exchanges
    assert exchange.headers["Authorization"] == f"OAuth {fake.api_key}"
    assert exchange.body["incident"]["deliver_notifications"] is True


async def test_configured_components_apply_when_the_publication_names_none(
    make_connector: ConnectorFactory, fake: FakeStatuspage
) -> None:
    connector = make_connector(component_ids=("vtnh60py4yd7",), notify_subscribers=False)
    await connector.publish(publication())
    [exchange] = fake.exchanges
    assert exchange.body["incident"]["component_ids"] == ["vtnh60py4yd7"]
    assert exchange.body["incident"]["deliver_notifications"] is False


async def test_updates_the_existing_page_incident(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    ours = fake.add_incident(NAME, status="identified", body="We are looking into it.")

    ref = await connector.publish(publication(existing_id=ours["id"]))

    assert ref.id == ours["id"]
    assert list(fake.incidents) == [ours["id"]]
    assert ours["status"] == "resolved"
    assert [u["body"] for u in ours["incident_updates"]] == [MESSAGE, "We are looking into it."]
    assert writes(fake, "POST") == 0
    # A PATCH must not wipe metadata other tools keep on the incident.
    assert "metadata" not in fake.exchanges[-1].body["incident"]


async def test_lost_create_answer_then_retry_makes_exactly_one_incident(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.drop_after_commit(method="POST", route=INCIDENTS)
    with pytest.raises(Transient):
        await connector.publish(publication())
    [created] = fake.incidents.values()  # it happened; pmhub did not hear

    ref = await connector.publish(publication(), unknown_outcome=True)

    assert ref.id == created["id"]
    assert list(fake.incidents) == [created["id"]]
    assert writes(fake, "POST") == 1
    assert writes(fake, "PATCH") == 0  # it already says exactly this
    assert len(created["incident_updates"]) == 1


async def test_unknown_outcome_that_never_happened_creates_once(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.fail(503, method="POST", route=INCIDENTS)
    with pytest.raises(Transient):
        await connector.publish(publication())
    assert fake.incidents == {}

    ref = await connector.publish(publication(), unknown_outcome=True)

    assert list(fake.incidents) == [ref.id]
    assert [e.query for e in fake.exchanges if e.method == "GET"] == [
        [("limit", "100"), ("q", NAME)],
        [("limit", "100")],
    ]


async def test_marker_is_found_after_a_human_renamed_the_incident(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.drop_after_commit(method="POST", route=INCIDENTS)
    with pytest.raises(Transient):
        await connector.publish(publication())
    [created] = fake.incidents.values()
    created["name"] = "API errors (renamed by support)"

    ref = await connector.publish(publication(), unknown_outcome=True)

    # Found among the newest incidents, and brought back to what was reviewed.
    assert ref.id == created["id"]
    assert len(fake.incidents) == 1
    assert created["name"] == NAME


async def test_another_effects_marker_is_not_ours(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    other = fake.add_incident(NAME, metadata={"pmhub": {"effect_key": "pm:other:1:external"}})
    ref = await connector.publish(publication(), unknown_outcome=True)
    assert ref.id != other["id"]
    assert len(fake.incidents) == 2


async def test_lost_update_answer_then_retry_adds_one_update(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    ours = fake.add_incident(NAME, status="monitoring", body="A fix is rolling out.")
    fake.drop_after_commit(method="PATCH", route=INCIDENT)
    with pytest.raises(Transient):
        await connector.publish(publication(existing_id=ours["id"]))

    await connector.publish(publication(existing_id=ours["id"]), unknown_outcome=True)

    assert [u["body"] for u in ours["incident_updates"]] == [MESSAGE, "A fix is rolling out."]
    assert writes(fake, "PATCH") == 1
    # Why the check matters: Statuspage appends an update for every PATCH with a body.
    await connector.publish(publication(existing_id=ours["id"]))
    assert len(ours["incident_updates"]) == 3


async def test_unknown_update_outcome_that_never_happened_updates(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    ours = fake.add_incident(NAME, status="monitoring", body="A fix is rolling out.")
    await connector.publish(publication(existing_id=ours["id"]), unknown_outcome=True)
    assert ours["incident_updates"][0]["body"] == MESSAGE
    assert writes(fake, "PATCH") == 1


# -- post-mortem mode ---------------------------------------------------------------


@pytest.fixture
def postmortems(make_connector: ConnectorFactory) -> StatuspageConnector:
    return make_connector(mode="postmortem")


async def test_postmortem_is_saved_then_published(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    ours = fake.add_incident(NAME, status="resolved", body="Resolved.")

    ref = await postmortems.publish(publication(existing_id=ours["id"]))

    assert ref.id == ours["id"]
    postmortem = fake.postmortems[ours["id"]]
    assert postmortem["body"] == postmortem["body_draft"] == MESSAGE
    assert postmortem["published_at"] is not None
    assert ours["postmortem_body"] == MESSAGE
    assert [(e.method, e.route) for e in fake.exchanges] == [
        ("PUT", INCIDENT + "/postmortem"),
        ("PUT", INCIDENT + "/postmortem/publish"),
    ]
    assert fake.exchanges[1].body == {
        "postmortem": {"notify_subscribers": True, "notify_twitter": False}
    }


# aiohttp itself resends an idempotent request (GET, PUT) once when the connection
# drops before the answer; both PUTs carry the same content, so that is harmless, but
# it is why these faults drop two attempts, and why the fake's rate limit is off here
# (the resend comes at once, unpaced).


async def test_lost_publish_answer_then_retry_publishes_once(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.min_interval = 0
    ours = fake.add_incident(NAME, status="resolved")
    fake.drop_after_commit(route=INCIDENT + "/postmortem/publish", times=2)
    with pytest.raises(Transient):
        await postmortems.publish(publication(existing_id=ours["id"]))
    resent = [e.body for e in fake.exchanges if e.route.endswith("/publish")]
    assert len(resent) == 2
    assert resent[0] == resent[1]

    ref = await postmortems.publish(publication(existing_id=ours["id"]), unknown_outcome=True)

    assert ref.id == ours["id"]
    assert [(e.method, e.route) for e in fake.exchanges[3:]] == [("GET", INCIDENT + "/postmortem")]
    assert fake.postmortems[ours["id"]]["body"] == MESSAGE


async def test_lost_draft_answer_then_retry_only_publishes(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.min_interval = 0
    ours = fake.add_incident(NAME, status="resolved")
    fake.drop_after_commit(method="PUT", route=INCIDENT + "/postmortem", times=2)
    with pytest.raises(Transient):
        await postmortems.publish(publication(existing_id=ours["id"]))

    await postmortems.publish(publication(existing_id=ours["id"]), unknown_outcome=True)

    assert [(e.method, e.route.rsplit("/", 1)[-1]) for e in fake.exchanges] == [
        ("PUT", "postmortem"),
        ("PUT", "postmortem"),
        ("GET", "postmortem"),
        ("PUT", "publish"),
    ]
    assert fake.postmortems[ours["id"]]["body"] == MESSAGE


async def test_unknown_postmortem_outcome_with_nothing_there_does_both(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    ours = fake.add_incident(NAME, status="resolved")
    await postmortems.publish(publication(existing_id=ours["id"]), unknown_outcome=True)
    assert [e.status for e in fake.exchanges] == [404, 200, 200]
    assert fake.postmortems[ours["id"]]["published_at"] is not None


# Without `existing_id` the page incident is found or created: test_postmortem_lookup.py.


async def test_postmortem_of_an_unknown_incident_is_permanent(
    postmortems: StatuspageConnector,
) -> None:
    with pytest.raises(Permanent, match="HTTP 404: The requested resource could not be found"):
        await postmortems.publish(publication(existing_id="nope00000000"))


# -- pacing and rate limits ---------------------------------------------------------


async def test_paced_publishes_are_never_rate_limited(
    make_connector: ConnectorFactory, fake: FakeStatuspage
) -> None:
    fake.min_interval = 0.1  # strict: any two requests closer than this are refused
    connector = make_connector(shared_pacer=KeyedPacer(0.2))
    first = await connector.publish(publication())
    await connector.publish(publication(existing_id=first.id), unknown_outcome=True)
    await connector.publish(publication(marker="pm:x:2:external"), unknown_outcome=True)

    statuses = [e.status for e in fake.exchanges]
    assert len(statuses) == 5
    assert not {420, 429} & set(statuses)


async def test_connectors_sharing_a_key_share_its_pace(
    make_connector: ConnectorFactory, fake: FakeStatuspage
) -> None:
    fake.min_interval = 0.1
    pacer = KeyedPacer(0.2)
    first, second = make_connector(shared_pacer=pacer), make_connector(shared_pacer=pacer)
    await asyncio.gather(
        first.publish(publication()),
        second.publish(publication(marker="pm:x:2:external"), unknown_outcome=True),
    )
    assert [e.status for e in fake.exchanges].count(201) == 2
    assert not {420, 429} & {e.status for e in fake.exchanges}


@pytest.mark.parametrize("status", [420, 429])
async def test_unpaced_calls_are_rate_limited_with_retry_after(
    make_connector: ConnectorFactory, fake: FakeStatuspage, status: int
) -> None:
    # The control for the test above: without pacing the fake does refuse.
    fake.min_interval, fake.rate_limit_status = 5.0, status  # type: ignore[assignment]
    connector = make_connector(shared_pacer=KeyedPacer(0))
    await connector.publish(publication())
    with pytest.raises(RateLimited, match=f"HTTP {status}: Rate limit exceeded") as caught:
        await connector.publish(publication(), unknown_outcome=True)
    assert caught.value.retry_after is not None
    assert 1 <= caught.value.retry_after <= 5


@pytest.mark.parametrize("status", [420, 429])
async def test_rate_limit_carries_retry_after_and_holds_the_key_back(
    make_connector: ConnectorFactory, fake: FakeStatuspage, status: int
) -> None:
    deferred: list[float] = []

    class Recording(KeyedPacer):
        async def defer(self, key: str, seconds: float) -> None:
            deferred.append(seconds)
            await super().defer(key, 0)

    fake.rate_limit(retry_after=7, status=status)  # type: ignore[arg-type]
    with pytest.raises(RateLimited) as caught:
        await make_connector(shared_pacer=Recording(0)).publish(publication())
    assert caught.value.retry_after == 7
    assert deferred == [7]


# -- errors -------------------------------------------------------------------------


async def test_wrong_key_is_auth_failed_and_never_echoed(make_connector: ConnectorFactory) -> None:
    with pytest.raises(AuthFailed, match="HTTP 401: Could not authenticate") as caught:
        await make_connector(api_key=SecretStr("wrong-secret-key")).publish(publication())
    assert "wrong-secret-key" not in str(caught.value)


async def test_invalid_incident_is_permanent_naming_the_problem(
    connector: StatuspageConnector, fake: FakeStatuspage
) -> None:
    with pytest.raises(Permanent, match=r"HTTP 422: Name is too long \(maximum is 255"):
        await connector.publish(publication(incident_name="x" * 256))
    with pytest.raises(Permanent, match="Components not found on this page: gone12345678"):
        await connector.publish(publication(component_ids=("gone12345678",)))
    assert fake.incidents == {}


async def test_unknown_page_is_permanent(make_connector: ConnectorFactory) -> None:
    with pytest.raises(Permanent, match="HTTP 404"):
        await make_connector(page_id="otherpage000").publish(publication())


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient(
    connector: StatuspageConnector, fake: FakeStatuspage, status: int
) -> None:
    fake.fail(status)
    with pytest.raises(Transient, match=f"HTTP {status}") as caught:
        await connector.publish(publication())
    assert type(caught.value) is Transient


async def test_a_hanging_server_is_transient(
    make_connector: ConnectorFactory, fake: FakeStatuspage
) -> None:
    fake.hang()
    with pytest.raises(Transient, match="Timeout"):
        await make_connector(timeout_seconds=0.3).publish(publication())


async def test_nothing_listening_is_transient(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    config = StatuspageConfig(
        api_key=SecretStr("k"), page_id="p", base_url=f"http://127.0.0.1:{unused_tcp_port}/v1/"
    )
    with pytest.raises(Transient, match="ClientConnectorError"):
        await StatuspageConnector.from_config(config, session).publish(publication())


async def test_a_non_json_answer_is_transient(session: aiohttp.ClientSession) -> None:
    async def proxy_page(_: web.Request) -> web.Response:
        return web.Response(text="<html>a proxy's error page</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/v1/pages/{page_id}/incidents", proxy_page)
    runner, url = await start_fake(app)
    try:
        config = StatuspageConfig(api_key=SecretStr("k"), page_id="p", base_url=f"{url}/v1")
        with pytest.raises(Transient, match="without a JSON answer"):
            await StatuspageConnector.from_config(config, session).publish(publication())
    finally:
        await runner.cleanup()
