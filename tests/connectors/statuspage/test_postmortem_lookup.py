"""Post-mortem mode without a known page incident: found from the outage, or created; once.

The connector against the Statuspage fake over loopback. People open a page incident by
hand during the outage; pmhub attaches the reviewed post-mortem to that one when it can
tell it is the same incident (its reference, or its name while the incident was open),
and otherwise creates a resolved page incident of its own to carry it. Retries after a
lost answer neither create a second incident nor publish twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.statuspage import StatuspageConnector
from connectors.statuspage.connector import CARRIER_BODY
from connectors.statuspage.fake import FakeStatuspage
from hub.errors import Transient
from hub.ports import Publication
from tests.connectors.statuspage.conftest import MARKER, MESSAGE, NAME, ConnectorFactory
from tests.support.contract import OpenApiContract

INCIDENTS = "/pages/{page_id}/incidents"
INCIDENT = INCIDENTS + "/{incident_id}"
POSTMORTEM, PUBLISH = INCIDENT + "/postmortem", INCIDENT + "/postmortem/publish"
REFERENCE = "PD-1042"


@pytest.fixture
def postmortems(make_connector: ConnectorFactory) -> StatuspageConnector:
    return make_connector(mode="postmortem")


def publication(**overrides: Any) -> Publication:
    # The outage: opened 40 minutes ago, resolved 10 minutes ago (the fake dates
    # incidents with the real clock, so "during the outage" is around now).
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "incident_name": NAME,
        "body": MESSAGE,
        "marker": MARKER,
        "reference": REFERENCE,
        "started_at": now - timedelta(minutes=40),
        "resolved_at": now - timedelta(minutes=10),
        **overrides,
    }
    return Publication(**fields)


def calls(fake: FakeStatuspage, start: int = 0) -> list[tuple[str, str]]:
    return [(e.method, e.route) for e in fake.exchanges[start:]]


def published_times(fake: FakeStatuspage) -> int:
    return sum(1 for e in fake.exchanges if e.route == PUBLISH and e.status == 200)


def days_ago(days: int) -> str:
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- nobody opened a page incident: pmhub creates one to carry the post-mortem ------


async def test_creates_a_silent_resolved_incident_and_publishes_its_postmortem(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    ref = await postmortems.publish(publication(component_ids=("8kbf7d35c070",)))

    [carrier] = fake.incidents.values()
    assert (ref.id, ref.url) == (carrier["id"], carrier["shortlink"])
    assert ref.how is not None
    assert ref.how.startswith("created")
    assert (carrier["name"], carrier["status"]) == (NAME, "resolved")
    assert carrier["resolved_at"] is not None
    assert carrier["metadata"] == {"pmhub": {"effect_key": MARKER}}
    assert [c["id"] for c in carrier["components"]] == ["8kbf7d35c070"]
    [update] = carrier["incident_updates"]
    # Subscribers are not told twice: the incident is silent, the post-mortem notifies.
    assert (update["body"], update["deliver_notifications"]) == (CARRIER_BODY, False)
    assert carrier["postmortem_body"] == MESSAGE
    assert fake.postmortems[carrier["id"]]["notify_subscribers"] is True
    assert calls(fake) == [
        ("GET", INCIDENTS),
        ("GET", INCIDENTS),
        ("POST", INCIDENTS),
        ("PUT", POSTMORTEM),
        ("PUT", PUBLISH),
    ]
    assert [e.query for e in fake.exchanges[:2]] == [
        [("limit", "100"), ("q", REFERENCE)],
        [("limit", "100"), ("q", NAME)],
    ]


async def test_lost_create_answer_then_retry_makes_one_incident_published_once(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.drop_after_commit(method="POST", route=INCIDENTS)
    with pytest.raises(Transient):
        await postmortems.publish(publication())
    [carrier] = fake.incidents.values()
    assert carrier["postmortem_body"] is None

    ref = await postmortems.publish(publication(), unknown_outcome=True)

    assert ref.id == carrier["id"]
    assert ref.how is not None
    assert "pmhub created" in ref.how
    assert len(fake.incidents) == 1
    assert carrier["postmortem_body"] == MESSAGE
    assert published_times(fake) == 1


async def test_lost_publish_answer_then_retry_neither_creates_nor_publishes_again(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.min_interval = 0  # aiohttp resends a dropped PUT at once (see test_connector)
    fake.drop_after_commit(route=PUBLISH, times=2)
    with pytest.raises(Transient):
        await postmortems.publish(publication())
    [carrier] = fake.incidents.values()
    before = len(fake.exchanges)

    ref = await postmortems.publish(publication(), unknown_outcome=True)

    assert ref.id == carrier["id"]
    assert len(fake.incidents) == 1
    # Three look-ups (reference, name, newest); the listing shows it is published.
    assert calls(fake, before) == [("GET", INCIDENTS)] * 3


async def test_renamed_carrier_is_found_among_the_newest(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.drop_after_commit(method="POST", route=INCIDENTS)
    with pytest.raises(Transient):
        await postmortems.publish(publication())
    [carrier] = fake.incidents.values()
    carrier["name"] = "Checkout errors (renamed by support)"

    ref = await postmortems.publish(publication(), unknown_outcome=True)

    assert ref.id == carrier["id"]
    assert len(fake.incidents) == 1
    assert carrier["postmortem_body"] == MESSAGE


# -- someone opened one during the outage: the post-mortem goes there --------------


async def test_attaches_to_the_incident_naming_the_reference(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    theirs = fake.add_incident(f"{REFERENCE}: checkout is failing", status="resolved")
    theirs["created_at"] = days_ago(3)  # a reference needs no time window
    before = len(fake.exchanges)

    ref = await postmortems.publish(publication())

    assert ref.id == theirs["id"]
    assert ref.how == f"found: {REFERENCE} is named in the page incident"
    assert list(fake.incidents) == [theirs["id"]]
    assert theirs["postmortem_body"] == MESSAGE
    assert theirs["metadata"] == {}  # someone else's incident: pmhub writes no marker on it
    assert calls(fake, before) == [
        ("GET", INCIDENTS),
        ("GET", INCIDENTS),
        ("PUT", POSTMORTEM),
        ("PUT", PUBLISH),
    ]


async def test_the_reference_may_be_in_an_update(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    theirs = fake.add_incident(
        "Payments degraded", status="identified", body=f"Tracked internally as {REFERENCE}."
    )
    ref = await postmortems.publish(publication())
    assert ref.id == theirs["id"]
    assert len(fake.incidents) == 1


async def test_attaches_to_the_same_name_opened_during_the_outage(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    last_month = fake.add_incident(NAME.upper(), status="resolved")
    last_month["created_at"] = days_ago(30)
    theirs = fake.add_incident(f"  {NAME.lower()} ", status="monitoring")

    ref = await postmortems.publish(publication(reference=None))

    assert ref.id == theirs["id"]
    assert ref.how == "found: same name, opened while the incident was open"
    assert theirs["postmortem_body"] == MESSAGE
    assert last_month["postmortem_body"] is None


async def test_a_name_alone_outside_the_outage_is_not_enough(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    last_month = fake.add_incident(NAME, status="resolved")
    last_month["created_at"] = days_ago(30)

    ref = await postmortems.publish(publication())

    assert ref.id != last_month["id"]
    assert len(fake.incidents) == 2
    assert last_month["postmortem_body"] is None
    assert fake.incidents[ref.id]["metadata"] == {"pmhub": {"effect_key": MARKER}}


@pytest.mark.parametrize(
    ("name", "status", "metadata"),
    [
        ("PD-10420 checkout", "resolved", {}),  # another incident's reference
        ("XPD-1042 checkout", "resolved", {}),
        (f"{REFERENCE} database upgrade", "scheduled", {}),  # maintenance, not an outage
        (NAME, "resolved", {"pmhub": {"effect_key": "pm:pagerduty:OTHER:external"}}),
    ],
)
async def test_what_is_not_this_incidents_page_incident(
    postmortems: StatuspageConnector,
    fake: FakeStatuspage,
    name: str,
    status: str,
    metadata: dict[str, Any],
) -> None:
    other = fake.add_incident(name, status="resolved", metadata=metadata)
    other["status"] = status  # the fake's create takes realtime statuses only
    ref = await postmortems.publish(publication())
    assert ref.id != other["id"]
    assert other["postmortem_body"] is None
    assert len(fake.incidents) == 2


async def test_the_earliest_of_several_matches_is_the_one(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    first = fake.add_incident(f"{REFERENCE} checkout errors", status="resolved")
    first["created_at"] = days_ago(1)
    fake.add_incident(f"{REFERENCE} follow-up notice", status="resolved")
    ref = await postmortems.publish(publication())
    assert ref.id == first["id"]


async def test_lost_publish_answer_on_their_incident_publishes_once(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    fake.min_interval = 0
    theirs = fake.add_incident(f"{REFERENCE} checkout errors", status="resolved")
    fake.drop_after_commit(route=PUBLISH, times=2)
    with pytest.raises(Transient):
        await postmortems.publish(publication())
    # Meanwhile someone renames an older incident to name the reference too: the
    # retry stays on the one that carries the post-mortem.
    older = fake.add_incident(f"{REFERENCE} (duplicate)", status="resolved")
    older["created_at"] = days_ago(2)

    ref = await postmortems.publish(publication(), unknown_outcome=True)

    assert ref.id == theirs["id"]
    assert published_times(fake) == 0  # both attempts were dropped after committing
    assert sum(1 for e in fake.exchanges if e.route == PUBLISH) == 2
    assert theirs["postmortem_body"] == MESSAGE


async def test_a_changed_message_is_published_again_on_the_same_incident(
    postmortems: StatuspageConnector, fake: FakeStatuspage
) -> None:
    first = await postmortems.publish(publication())
    again = await postmortems.publish(publication(body="Corrected wording."))
    assert again.id == first.id
    assert len(fake.incidents) == 1
    assert fake.incidents[first.id]["postmortem_body"] == "Corrected wording."


# -- the contract ------------------------------------------------------------------


async def test_the_lookup_and_the_carrier_match_the_document(
    postmortems: StatuspageConnector, fake: FakeStatuspage, contract: OpenApiContract
) -> None:
    fake.add_incident(f"{REFERENCE} checkout errors", status="resolved")
    await postmortems.publish(publication())
    await postmortems.publish(
        publication(reference="PD-8", marker="pm:pagerduty:P8:ext", incident_name="Slow UI")
    )
    fake.drop_after_commit(method="POST", route=INCIDENTS)
    with pytest.raises(Transient):
        await postmortems.publish(publication(reference="PD-7", marker="pm:pagerduty:P7:ext"))
    await postmortems.publish(
        publication(reference="PD-7", marker="pm:pagerduty:P7:ext"), unknown_outcome=True
    )

    for exchange in fake.exchanges:
        template = contract.validate_request(
            exchange.method,
            exchange.path,
            query=exchange.query,
            headers=exchange.headers,
            body=exchange.body,
        )
        if exchange.status is not None:
            contract.validate_response(
                exchange.method, template, exchange.status, exchange.response
            )
    assert {e.status for e in fake.exchanges} == {200, 201, None}
