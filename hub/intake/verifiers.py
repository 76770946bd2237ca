"""Signature checks for every webhook source, run on the raw body before anything else.

Each check is: signature (401 if absent, malformed or wrong) → freshness where
the scheme signs a timestamp (401) → body shape (400, only for a sender that
proved who it is) → delivery id and event type. Comparisons are constant-time;
rejection messages are short and never echo what we expected.

Delivery ids (the inbox is unique on source + id, so a redelivery is a no-op):
* PagerDuty: `X-Webhook-Id`, else `event.id`;
* incident.io: `webhook-id` (Svix keeps it across retries);
* Slack has none: `sha256(timestamp ":" body)`. A retry of the same request
  carries the same bytes and timestamp, so it collides as it should; two presses
  of the same button differ in `trigger_id` and `action_ts`, so they do not;
* Jira: `X-Atlassian-Webhook-Identifier` (stable across Jira's retries), else
  `sha256(body)`; Jira bodies carry a millisecond `timestamp`, so two real events
  never share a body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from hub.intake.adapters.base import load_json, text
from hub.intake.adapters.slack import decode_form, parse_command_form, view_submission_ack
from hub.model.command import CommandVerb

TOLERANCE = timedelta(minutes=5)
JSON = frozenset({"application/json"})
FORM = frozenset({"application/x-www-form-urlencoded"})


class IntakeRejection(Exception):
    """A delivery refused at the door; `message` is safe to return to the caller."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VerifiedDelivery:
    delivery_id: str
    event_type: str | None
    kept_headers: dict[str, str]
    ack_status: int = 202
    ack_body: dict[str, Any] | None = None
    ack_empty: bool = False  # answer with no body at all (Slack closes a submitted modal)


class Verifier(Protocol):
    source: str
    content_types: frozenset[str]

    def verify(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> VerifiedDelivery: ...


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    # aiohttp's CIMultiDictProxy may repeat a name; the first occurrence wins.
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), value)
    return lowered


def _is_utf8(value: str) -> bool:
    """aiohttp decodes header bytes as UTF-8 with `surrogateescape`: bytes that are not
    UTF-8 arrive as lone surrogates, which `.encode()` (and the store) cannot take."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _signed_headers_utf8(headers: dict[str, str], names: Sequence[str]) -> None:
    """The headers a signature covers or carries: not UTF-8 cannot be authentic (401)."""
    for name in names:
        value = headers.get(name)
        if value is not None and not _is_utf8(value):
            raise _unauthorized("malformed_signature", f"{name} is not UTF-8")


def _delivery_id_header(headers: dict[str, str], name: str) -> str | None:
    """A vendor's delivery id header, read after the signature proved the sender (400)."""
    value = headers.get(name)
    if value is not None and not _is_utf8(value):
        raise _malformed(f"{name} is not UTF-8")
    return text(value)


def _keep(headers: dict[str, str], names: Sequence[str]) -> dict[str, str]:
    # Kept for the record only: bytes that are not UTF-8 are stored replaced, not refused.
    return {name: _readable(headers[name]) for name in names if name in headers}


def _readable(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _unauthorized(code: str, message: str) -> IntakeRejection:
    return IntakeRejection(401, code, message)


def _malformed(message: str) -> IntakeRejection:
    return IntakeRejection(400, "malformed_body", message)


def _hex_hmac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _any_match(candidates: Sequence[str], expected: Sequence[str]) -> bool:
    # Every pair is compared so the time taken does not reveal which one matched.
    matched = False
    for candidate in candidates:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode(), wanted.encode())
    return matched


def _json_object(body: bytes) -> dict[str, Any]:
    document = load_json(body)
    if document is None:
        raise _malformed("body is not valid JSON")
    if not isinstance(document, dict):
        raise _malformed("body is not a JSON object")
    return document


def _timestamp(raw: str | None, now: datetime) -> None:
    if raw is None:
        raise _unauthorized("missing_timestamp", "timestamp header missing")
    try:
        sent = datetime.fromtimestamp(int(raw.strip()), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        raise _unauthorized("malformed_timestamp", "timestamp is not a Unix time") from None
    if abs(now - sent) > TOLERANCE:
        raise _unauthorized("stale_timestamp", "timestamp outside the 5 minute window")


def _need_secrets(secrets: Sequence[str]) -> tuple[str, ...]:
    kept = tuple(secret for secret in secrets if secret)
    if not kept:
        raise ValueError("at least one non-empty secret is required")
    return kept


class PagerDutyVerifier:
    source = "pagerduty"
    content_types = JSON
    _kept = ("x-webhook-id", "x-webhook-subscription", "x-pagerduty-signature", "user-agent")

    def __init__(self, secrets: Sequence[str]) -> None:
        self._keys = tuple(secret.encode() for secret in _need_secrets(secrets))

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> VerifiedDelivery:
        lowered = _lower(headers)
        _signed_headers_utf8(lowered, ("x-pagerduty-signature",))
        header = lowered.get("x-pagerduty-signature")
        if header is None:
            raise _unauthorized("missing_signature", "X-PagerDuty-Signature missing")
        # Several `v1=` values during a secret rotation; other versions are ignored.
        signatures = [
            part.strip()[3:].lower() for part in header.split(",") if part.strip().startswith("v1=")
        ]
        if not signatures:
            raise _unauthorized("malformed_signature", "no v1 signature")
        if not _any_match(signatures, [_hex_hmac(key, body) for key in self._keys]):
            raise _unauthorized("bad_signature", "signature does not match")
        event = _json_object(body).get("event")
        if not isinstance(event, dict):
            raise _malformed("body has no 'event' object")
        delivery_id = _delivery_id_header(lowered, "x-webhook-id") or text(event.get("id"))
        if delivery_id is None:
            raise _malformed("no X-Webhook-Id and no event.id")
        return VerifiedDelivery(
            delivery_id, text(event.get("event_type")), _keep(lowered, self._kept)
        )


class IncidentIoVerifier:
    """Svix / Standard Webhooks: HMAC-SHA256 over `{id}.{timestamp}.{body}`."""

    source = "incidentio"
    content_types = JSON
    _kept = ("webhook-id", "webhook-timestamp", "webhook-signature", "user-agent")

    def __init__(self, secrets: Sequence[str]) -> None:
        self._keys = tuple(self._key(secret) for secret in _need_secrets(secrets))

    @staticmethod
    def _key(secret: str) -> bytes:
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("incident.io signing secret is not whsec_<base64>") from None

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> VerifiedDelivery:
        lowered = _lower(headers)
        _signed_headers_utf8(lowered, ("webhook-id", "webhook-timestamp", "webhook-signature"))
        webhook_id, stamp = lowered.get("webhook-id"), lowered.get("webhook-timestamp")
        header = lowered.get("webhook-signature")
        if header is None or webhook_id is None or stamp is None:
            raise _unauthorized("missing_signature", "webhook-id/timestamp/signature missing")
        signatures = [part[3:] for part in header.split() if part.startswith("v1,")]
        if not signatures:
            raise _unauthorized("malformed_signature", "no v1 signature")
        signed = f"{webhook_id}.{stamp}.".encode() + body
        expected = [
            base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            for key in self._keys
        ]
        if not _any_match(signatures, expected):
            raise _unauthorized("bad_signature", "signature does not match")
        _timestamp(stamp, now)  # signed, so checking it after the signature is enough
        document = _json_object(body)
        return VerifiedDelivery(
            webhook_id.strip(), text(document.get("event_type")), _keep(lowered, self._kept)
        )


class SlackVerifier:
    """`v0=hex(HMAC-SHA256("v0:{timestamp}:{body}"))`; answers Slack at once with 200."""

    content_types = FORM
    _kept = ("x-slack-request-timestamp", "x-slack-signature", "user-agent")

    def __init__(self, source: str, signing_secret: str) -> None:
        if source not in ("slack/commands", "slack/interactions"):
            raise ValueError(f"not a Slack source: {source}")
        self.source = source
        self._key = _need_secrets([signing_secret])[0].encode()

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> VerifiedDelivery:
        lowered = _lower(headers)
        _signed_headers_utf8(lowered, ("x-slack-signature", "x-slack-request-timestamp"))
        header, stamp = lowered.get("x-slack-signature"), lowered.get("x-slack-request-timestamp")
        if header is None or stamp is None:
            raise _unauthorized("missing_signature", "X-Slack-Signature/timestamp missing")
        if not header.startswith("v0="):
            raise _unauthorized("malformed_signature", "no v0 signature")
        expected = _hex_hmac(self._key, b"v0:" + stamp.encode() + b":" + body)
        if not _any_match([header[3:].lower()], [expected]):
            raise _unauthorized("bad_signature", "signature does not match")
        _timestamp(stamp, now)
        form = decode_form(body)
        if form is None:
            raise _malformed("body is not form-encoded UTF-8")
        delivery_id = hashlib.sha256(stamp.encode() + b":" + body).hexdigest()
        kept = _keep(lowered, self._kept)
        if self.source == "slack/commands":
            return self._command(delivery_id, form, kept)
        return self._interaction(delivery_id, form, kept)

    @staticmethod
    def _command(delivery_id: str, form: dict[str, str], kept: dict[str, str]) -> VerifiedDelivery:
        if not text(form.get("user_id")):
            raise _malformed("command has no user_id")
        command = parse_command_form(form)
        # Help and mistakes are answered now; real work is acknowledged and done later.
        if command.verb in (CommandVerb.HELP, CommandVerb.INVALID):
            reply = command.message or ""
        else:
            reply = f"On it: `{command.raw_text.strip()}`"
        body = {"response_type": "ephemeral", "text": reply}
        return VerifiedDelivery(delivery_id, text(form.get("command")), kept, 200, body)

    @staticmethod
    def _interaction(
        delivery_id: str, form: dict[str, str], kept: dict[str, str]
    ) -> VerifiedDelivery:
        payload = load_json(form.get("payload", "").encode())
        if not isinstance(payload, dict):
            raise _malformed("'payload' is not a JSON object")
        kind = text(payload.get("type"))
        if kind == "view_submission":
            # Slack reads this answer: an empty 200 closes the modal, `response_action:
            # errors` keeps it open with the problems shown; any other body is an error.
            errors = view_submission_ack(payload)
            return VerifiedDelivery(delivery_id, kind, kept, 200, errors, ack_empty=not errors)
        body = {"response_type": "ephemeral", "text": "On it."}
        return VerifiedDelivery(delivery_id, kind, kept, 200, body)


class JiraVerifier:
    source = "jira"
    content_types = JSON
    _kept = ("x-atlassian-webhook-identifier", "x-atlassian-webhook-retry", "x-hub-signature")

    def __init__(self, secret: str) -> None:
        self._key = _need_secrets([secret])[0].encode()

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> VerifiedDelivery:
        lowered = _lower(headers)
        _signed_headers_utf8(lowered, ("x-hub-signature",))
        header = lowered.get("x-hub-signature")
        if header is None:
            raise _unauthorized("missing_signature", "X-Hub-Signature missing")
        method, _, signature = header.strip().partition("=")
        if method.lower() != "sha256" or not signature:
            raise _unauthorized("malformed_signature", "expected sha256=<hex>")
        if not _any_match([signature.lower()], [_hex_hmac(self._key, body)]):
            raise _unauthorized("bad_signature", "signature does not match")
        document = _json_object(body)
        delivery_id = _delivery_id_header(lowered, "x-atlassian-webhook-identifier")
        delivery_id = delivery_id or "sha256:" + hashlib.sha256(body).hexdigest()
        return VerifiedDelivery(
            delivery_id, text(document.get("webhookEvent")), _keep(lowered, self._kept)
        )


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


class _SecretList(Protocol):
    @property
    def webhook_secrets(self) -> Sequence[_Secret]: ...


class _SlackSection(Protocol):
    @property
    def signing_secret(self) -> _Secret: ...


class _JiraSection(Protocol):
    @property
    def webhook_secret(self) -> _Secret: ...


class SourcesConfig(Protocol):
    """What this module needs of `hub.config.SourcesSettings`; a section is None when off."""

    @property
    def pagerduty(self) -> _SecretList | None: ...
    @property
    def incidentio(self) -> _SecretList | None: ...
    @property
    def slack(self) -> _SlackSection | None: ...
    @property
    def jira(self) -> _JiraSection | None: ...


def build_verifiers(sources: SourcesConfig) -> dict[str, Verifier]:
    """One verifier per configured source, keyed by the path after /webhooks/."""
    verifiers: list[Verifier] = []
    if sources.pagerduty is not None:
        secrets = [s.get_secret_value() for s in sources.pagerduty.webhook_secrets]
        verifiers.append(PagerDutyVerifier(secrets))
    if sources.incidentio is not None:
        secrets = [s.get_secret_value() for s in sources.incidentio.webhook_secrets]
        verifiers.append(IncidentIoVerifier(secrets))
    if sources.slack is not None:
        secret = sources.slack.signing_secret.get_secret_value()
        verifiers.append(SlackVerifier("slack/commands", secret))
        verifiers.append(SlackVerifier("slack/interactions", secret))
    if sources.jira is not None:
        verifiers.append(JiraVerifier(sources.jira.webhook_secret.get_secret_value()))
    return {verifier.source: verifier for verifier in verifiers}
