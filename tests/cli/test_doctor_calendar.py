"""`pmhub doctor` on Google Calendar with domain-wide delegation, against the fakes.

The service account signs in at the OAuth fake as the configured subject, then one
freeBusy asks for the shared calendar and the subject's own: each is reached, or the
line says what to change (the admin's authorisation, the calendar's sharing).
Run in-process (`diagnose_all`, what the command prints), so no subprocess is needed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.common.fakeserver import start_fake
from connectors.google_calendar.fake import FakeGoogleCalendar
from connectors.google_calendar.fake.oauth import FakeGoogleOAuth
from hub.cli.doctor import diagnose_all, render
from hub.config import load_settings
from hub.policy import load_policies

SUBJECT = "pmhub@example.com"
CLIENT = "pmhub@pmhub-test.iam.gserviceaccount.com"
KEY_ID = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Google:
    calendar: FakeGoogleCalendar
    oauth: FakeGoogleOAuth
    config: Path


@pytest.fixture
async def google(tmp_path: Path) -> AsyncIterator[Google]:
    oauth = FakeGoogleOAuth(access_token="ya29.doctor")
    calendar = FakeGoogleCalendar(token="ya29.doctor")
    calendar.busy[calendar.calendar_id.casefold()] = []
    calendar.busy[SUBJECT] = []
    calendar_runner, calendar_url = await start_fake(calendar.make_app())
    oauth_runner, oauth_url = await start_fake(oauth.make_app())
    key_file = tmp_path / "service-account.json"
    key_file.write_text(_service_account_key(oauth, f"{oauth_url}/token"))
    config = tmp_path / "pmhub.yaml"
    config.write_text(
        "connectors:\n"
        "  google_calendar:\n"
        f"    calendar_id: {calendar.calendar_id}\n"
        f"    credentials_file: {key_file}\n"
        f"    subject: {SUBJECT}\n"
        f"    root_url: {calendar_url}/\n"
    )
    try:
        yield Google(calendar, oauth, config)
    finally:
        await calendar_runner.cleanup()
        await oauth_runner.cleanup()


def _service_account_key(oauth: FakeGoogleOAuth, token_uri: str) -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    oauth.public_keys[KEY_ID] = public.decode()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "private_key_id": KEY_ID,
            "private_key": pem,
            "client_email": CLIENT,
            "client_id": "104729380123456789012",
            "token_uri": token_uri,
        }
    )


async def _lines(config: Path) -> list[str]:
    settings = load_settings(config)
    results = await diagnose_all(settings, load_policies(settings.policies, settings.teams))
    return [render(label, finding) for label, finding in results]


async def test_freebusy_as_the_subject_reaches_both_calendars(google: Google) -> None:
    lines = await _lines(google.config)
    calendar = google.calendar.calendar_id
    assert lines == [
        f"ok   google_calendar: freeBusy as {SUBJECT} reaches {calendar}",
        f"ok   google_calendar: freeBusy as {SUBJECT} reaches {SUBJECT}",
    ]
    [grant] = google.oauth.grants
    assert grant["sub"] == SUBJECT  # it acted as the subject, through delegation


async def test_scopes_the_admin_did_not_authorise_say_so(google: Google) -> None:
    google.oauth.authorised_scopes = {CLIENT: {"https://www.googleapis.com/auth/calendar"}}
    [line] = await _lines(google.config)
    assert line.startswith("FAIL google_calendar: freeBusy: credentials refused")
    assert "domain-wide delegation" in line
    assert "calendar.events.freebusy" in line


async def test_a_calendar_the_subject_cannot_see_says_share_it(google: Google) -> None:
    del google.calendar.busy[google.calendar.calendar_id.casefold()]
    lines = await _lines(google.config)
    calendar = google.calendar.calendar_id
    assert lines[0] == (
        f"FAIL google_calendar: freeBusy as {SUBJECT} cannot reach {calendar} (notFound) — "
        f"share {calendar} with {SUBJECT} (Make changes to events), or fix "
        "connectors.google_calendar.calendar_id"
    )
    assert lines[1].startswith("ok   ")
