"""The transport's decisions: error mapping, settings, event ids, and delegated credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.common.fakeserver import start_fake
from connectors.google_calendar import GoogleCalendarConfig, GoogleCalendarConnector, event_id_for
from connectors.google_calendar.client import NotFound, error_for_status
from connectors.google_calendar.config import DEFAULT_SCOPES
from connectors.google_calendar.fake import FakeGoogleCalendar, error_body
from hub.errors import AuthFailed, Conflict, ConnectorError, Permanent, RateLimited, Transient
from tests.connectors.google_calendar.conftest import IC, ny


def body(status: int, reason: str, message: str = "m") -> bytes:
    return json.dumps(error_body(status, reason, message)).encode()


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (400, "timeRangeEmpty", Permanent),
        (401, "authError", AuthFailed),
        (403, "rateLimitExceeded", RateLimited),
        (403, "userRateLimitExceeded", RateLimited),
        (403, "quotaExceeded", RateLimited),
        (403, "dailyLimitExceeded", RateLimited),
        (403, "forbidden", AuthFailed),
        (403, "requiredAccessLevel", AuthFailed),
        (403, "forbiddenForServiceAccounts", AuthFailed),
        (403, "forbiddenForNonOrganizer", Permanent),
        (404, "notFound", NotFound),
        (408, "requestTimeout", Transient),
        (409, "duplicate", Conflict),
        (410, "deleted", NotFound),
        (412, "conditionNotMet", Transient),
        (429, "rateLimitExceeded", RateLimited),
        (500, "backendError", Transient),
        (503, "backendError", Transient),
    ],
)
def test_error_mapping(status: int, reason: str, expected: type[ConnectorError]) -> None:
    error = error_for_status(status, body(status, reason), {}, "events.insert")
    assert type(error) is expected
    assert f"HTTP {status}" in error.message
    assert reason in error.message


def test_not_found_is_permanent() -> None:
    assert issubclass(NotFound, Permanent)


def test_retry_after_is_read_when_sent() -> None:
    error = error_for_status(429, b"", {"retry-after": "12"}, "freebusy.query")
    assert isinstance(error, RateLimited)
    assert error.retry_after == 12


def test_a_body_that_is_not_googles_still_maps_by_status() -> None:
    error = error_for_status(502, b"<html>Bad Gateway</html>", {}, "events.get")
    assert type(error) is Transient
    assert error.message == "Google Calendar events.get: HTTP 502: Bad Gateway"
    assert type(error_for_status(403, b"{}", {}, "x")) is Permanent


# -- event ids ---------------------------------------------------------------------


@given(st.text(min_size=1, max_size=300))
def test_event_ids_are_valid_google_ids(key: str) -> None:
    event_id = event_id_for(key)
    assert 5 <= len(event_id) <= 1024
    assert set(event_id) <= set("0123456789abcdefghijklmnopqrstuv")
    assert event_id == event_id_for(key)


def test_event_ids_differ_per_key() -> None:
    keys = [f"pm:pagerduty:P{n}:meeting" for n in range(1000)]
    assert len({event_id_for(key) for key in keys}) == len(keys)


# -- settings ----------------------------------------------------------------------


def test_google_needs_delegated_credentials(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="credentials_file and subject"):
        GoogleCalendarConfig(calendar_id="c@group.calendar.google.com")
    config = GoogleCalendarConfig(
        calendar_id="c@group.calendar.google.com",
        credentials_file=service_account_file(tmp_path, "https://oauth2.googleapis.com/token"),
        subject="pmhub@example.com",
    )
    assert config.talks_to_google
    assert config.scopes == DEFAULT_SCOPES


def test_a_fake_needs_no_credentials_and_the_root_gets_its_slash() -> None:
    config = GoogleCalendarConfig(calendar_id="c", root_url="http://127.0.0.1:8080")
    assert config.anonymous
    assert config.root_url == "http://127.0.0.1:8080/"
    with pytest.raises(ValidationError, match="go together"):
        GoogleCalendarConfig(calendar_id="c", root_url="http://x/", subject="a@example.com")
    with pytest.raises(ValidationError, match="http"):
        GoogleCalendarConfig(calendar_id="c", root_url="ftp://x/")


def test_an_unusable_key_file_is_refused_with_the_settings(tmp_path: Path) -> None:
    # Refused where `pmhub check` sees it, not when the daemon builds the connector.
    key = tmp_path / "sa.json"
    key.write_text("{}")
    with pytest.raises(ValidationError, match="not a usable service-account key"):
        GoogleCalendarConfig(calendar_id="c", credentials_file=key, subject="pmhub@example.com")


# -- a service account with domain-wide delegation, end to end ---------------------


class TokenServer:
    """Google's OAuth token endpoint, enough for the JWT-bearer grant."""

    def __init__(self) -> None:
        self.claims: list[dict[str, Any]] = []
        self.refuse = False

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        payload = str(form["assertion"]).split(".")[1]
        self.claims.append(json.loads(base64.urlsafe_b64decode(payload + "==")))
        if self.refuse:
            # What Google says when the admin has not granted delegation for the scopes.
            return web.json_response(
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens "
                    "using this method, or client not authorized for any of the scopes "
                    "requested.",
                },
                status=401,
            )
        return web.json_response(
            {"access_token": "ya29.delegated", "expires_in": 3599, "token_type": "Bearer"}
        )


@pytest.fixture
async def token_server() -> AsyncIterator[tuple[TokenServer, str]]:
    server = TokenServer()
    app = web.Application()
    app.router.add_post("/token", server.token)
    runner, url = await start_fake(app)
    yield server, f"{url}/token"
    await runner.cleanup()


def service_account_file(directory: Path, token_uri: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "pmhub-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "pmhub@pmhub-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path = directory / "service-account.json"
    path.write_text(json.dumps(info))
    return path


async def test_delegated_credentials_act_as_the_subject(
    tmp_path: Path,
    token_server: tuple[TokenServer, str],
    fake: FakeGoogleCalendar,
    base_url: str,
) -> None:
    server, token_uri = token_server
    fake.token = "ya29.delegated"
    config = GoogleCalendarConfig(
        calendar_id=fake.calendar_id,
        root_url=base_url,
        credentials_file=service_account_file(tmp_path, token_uri),
        subject="pmhub-bot@example.com",
        timeout_seconds=2,
    )
    connector = GoogleCalendarConnector.from_config(config)
    try:
        await connector.free_busy([IC], ny(2, 0), ny(3, 0))
        await connector.free_busy([IC], ny(2, 0), ny(3, 0))
        server.refuse = True  # the token is cached: no second grant needed
        await connector.free_busy([IC], ny(2, 0), ny(3, 0))
    finally:
        await connector.close()

    (claims,) = server.claims  # the threads share the credentials, so one grant
    assert claims["sub"] == "pmhub-bot@example.com"
    assert claims["iss"] == "pmhub@pmhub-test.iam.gserviceaccount.com"
    assert claims["scope"].split() == list(DEFAULT_SCOPES)
    assert all(e.headers["Authorization"] == "Bearer ya29.delegated" for e in fake.exchanges)


async def test_refused_delegation_is_auth_failed(
    tmp_path: Path,
    token_server: tuple[TokenServer, str],
    fake: FakeGoogleCalendar,
    base_url: str,
) -> None:
    server, token_uri = token_server
    server.refuse = True
    config = GoogleCalendarConfig(
        calendar_id=fake.calendar_id,
        root_url=base_url,
        credentials_file=service_account_file(tmp_path, token_uri),
        subject="pmhub-bot@example.com",
    )
    connector = GoogleCalendarConnector.from_config(config)
    try:
        with pytest.raises(AuthFailed, match="unauthorized_client"):
            await connector.free_busy([IC], ny(2, 0), ny(3, 0))
    finally:
        await connector.close()
    assert fake.exchanges == []
