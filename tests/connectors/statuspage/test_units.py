"""The pure parts: error text, error mapping, payload builders, marker, config, value types."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from connectors.statuspage import StatuspageConfig
from connectors.statuspage.client import error_for_status, pacing_key, vendor_message
from connectors.statuspage.connector import incident_fields, marker_of, shows
from hub.errors import AuthFailed, Permanent, RateLimited, Transient
from hub.ports import Publication

CONFIG = StatuspageConfig(api_key=SecretStr("k-secret"), page_id="gytm4qzbx9t6")
PUB = Publication(incident_name="Slow API", body="It was slow.", marker="pm:x:1:external")


def test_vendor_message_reads_every_shape() -> None:
    assert vendor_message({"error": "Could not authenticate"}, "401") == "Could not authenticate"
    assert vendor_message({"error": ["Name can't be blank", "Status is wrong"]}, "422") == (
        "Name can't be blank; Status is wrong"
    )
    assert vendor_message({"message": "Not found"}, "404") == "Not found"  # the document's shape
    assert vendor_message("<html>", "Bad Gateway") == "Bad Gateway"
    assert vendor_message({}, "Bad Request") == "Bad Request"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, Permanent),
        (401, AuthFailed),
        (403, AuthFailed),
        (404, Permanent),
        (408, Transient),
        (409, Permanent),
        (420, RateLimited),
        (422, Permanent),
        (429, RateLimited),
        (500, Transient),
        (504, Transient),
    ],
)
def test_status_mapping(status: int, kind: type[Exception]) -> None:
    error = error_for_status(status, {"error": "why"}, {"Retry-After": "3"}, "create incident")
    assert type(error) is kind
    assert str(error) == f"Statuspage create incident: HTTP {status}: why"


def test_pacing_key_never_holds_the_secret() -> None:
    key = pacing_key("k-secret")
    assert "k-secret" not in key
    assert key == pacing_key("k-secret") != pacing_key("another")


def test_create_carries_the_marker_and_update_leaves_metadata_alone() -> None:
    created = incident_fields(PUB, CONFIG, create=True)
    assert created == {
        "name": "Slow API",
        "status": "resolved",
        "body": "It was slow.",
        "deliver_notifications": True,
        "metadata": {"pmhub": {"effect_key": "pm:x:1:external"}},
    }
    assert marker_of(created) == "pm:x:1:external"
    assert "metadata" not in incident_fields(PUB, CONFIG, create=False)


@pytest.mark.parametrize(
    "metadata", [None, [], {"pmhub": "flat"}, {"pmhub": {"effect_key": 7}}, {"jira": {}}]
)
def test_foreign_or_malformed_metadata_is_no_marker(metadata: object) -> None:
    assert marker_of({"metadata": metadata}) is None


def test_shows_compares_name_status_and_newest_update() -> None:
    incident = {
        "name": "Slow API",
        "status": "resolved",
        "incident_updates": [{"body": "It was slow."}, {"body": "Looking."}],
    }
    assert shows(incident, PUB)
    assert not shows({**incident, "status": "monitoring"}, PUB)
    assert not shows({**incident, "incident_updates": [{"body": "Looking."}]}, PUB)
    assert not shows({**incident, "incident_updates": []}, PUB)


def test_config_defaults_and_secrecy() -> None:
    assert CONFIG.base_url == "https://api.statuspage.io/v1"
    assert CONFIG.mode == "incident"
    assert CONFIG.min_interval_seconds == 1.0
    assert "k-secret" not in repr(CONFIG)
    with pytest.raises(ValidationError):
        StatuspageConfig(api_key=SecretStr("k"), page_id="p", base_url="api.statuspage.io")
    with pytest.raises(ValidationError):
        StatuspageConfig.model_validate({"api_key": "k", "page_id": "p", "mode": "tweet"})
    with pytest.raises(ValidationError):
        StatuspageConfig.model_validate({"api_key": "k", "page_id": ""})


def test_publication_needs_a_body_and_a_marker() -> None:
    with pytest.raises(ValueError, match="body"):
        Publication(incident_name="n", body="  ", marker="m")
    with pytest.raises(ValueError, match="marker"):
        Publication(incident_name="n", body="b", marker="")
