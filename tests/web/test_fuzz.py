"""Bounded fuzzing of the front door and the admin API (issues 10 §3 and 12).

Property-based requests, sent as raw bytes (so header values may be any bytes but a line
break), against every webhook source and every operation of the OpenAPI document: no
answer is a 5xx, the process keeps answering, and no configured secret reaches a log line.
The number of examples is the Hypothesis profile's (dev 25, ci 100).

The daemon runs in a thread of its own, with its own event loop, so that Hypothesis can
drive it from a plain (synchronous) test, one blocking request per example.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.config import load_settings, secret_values
from hub.intake.signing import signed_headers
from hub.jobs.queue import Job, JobState
from hub.logging import configure_logging
from hub.web.openapi import openapi_document
from tests.support.daemon import ADMIN_TOKEN, running_daemon, write_config
from tests.support.signing import PAGERDUTY_SECRET

SLACK_SECRET = "slack-fuzz-signing-5e4d3c2b1a"
JIRA_SECRET = "jira-fuzz-secret-9a8b7c6d"
INCIDENTIO_SECRET = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
SECRETS = {
    "pagerduty": PAGERDUTY_SECRET,
    "incidentio": INCIDENTIO_SECRET,
    "slack/commands": SLACK_SECRET,
    "slack/interactions": SLACK_SECRET,
    "jira": JIRA_SECRET,
}
EXTRA_SOURCES = f"""\
  incidentio:
    webhook_secrets: ["{INCIDENTIO_SECRET}"]
  slack:
    signing_secret: {SLACK_SECRET}
  jira:
    webhook_secret: {JIRA_SECRET}
"""
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# --- the daemon, in a thread --------------------------------------------------------


@dataclass
class Threaded:
    port: int = 0
    ingests: list[Job] = field(default_factory=list)  # read once the daemon has stopped


@contextmanager
def daemon_in_thread(config: Path) -> Iterator[Threaded]:
    """The daemon serving on loopback from another thread, its worker running. On the
    way out, the worker runs until idle and the ingest jobs are read back."""
    started = threading.Event()
    handle = Threaded()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            async with running_daemon(config) as daemon:
                box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
                handle.port = daemon.client.server.port or 0
                started.set()
                await box["stop"].wait()
                await daemon.runtime.worker.run_until_idle(max_seconds=30)
                handle.ingests = await daemon.runtime.queue.list_jobs(kind="ingest", limit=10_000)
        finally:
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    started.wait(60)
    assert handle.port, "the daemon did not start"
    try:
        yield handle
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(60)


def send(port: int, request: bytes) -> int:
    """Send one request, read the answer to the end; its status (0: closed unanswered)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    if not answer:
        return 0
    return int(answer.split(b" ", 2)[1])


def request_bytes(method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: localhost", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# --- strategies ---------------------------------------------------------------------

SURROGATE_DELIVERY = (
    b'{"event": {"id": "E1", "event_type": "incident.triggered", "resource_type": "incident",'
    b' "data": {"id": "PFUZZ1", "type": "incident", "title": "\\ud800 x"}}}'
)
# Any bytes but the line breaks that end a header (those are the parser's 400 anyway),
# often after the prefix of a signature scheme, so the checks past the prefix are reached.
header_value = st.builds(
    lambda prefix, rest: (prefix + rest).replace(b"\r", b"").replace(b"\n", b""),
    st.sampled_from([b"", b"v1=", b"v0=", b"sha256=", b"v1,", b"Bearer "]),
    st.binary(max_size=40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Fields the endpoints read, so that generated documents reach past the first check.
known_fields = st.sampled_from(
    [
        "event",
        "event_type",
        "id",
        "data",
        "title",
        "summary",
        "priority",
        "owner_email",
        "reason",
        "body",
        "full_outage",
        "email",
        "to",
        "override",
        "event",
        "question",
        "answer",
        "payload",
        "type",
        "webhookEvent",
        "issue",
        "user_id",
        "command",
        "text",
    ]
)
documents = st.dictionaries(known_fields | st.text(max_size=8), json_values, max_size=6)
# Shaped as the vendors send them, so a signed one reaches the store and the ingest job.
vendor_documents = st.one_of(
    st.fixed_dictionaries(
        {"event": st.fixed_dictionaries({"id": st.text(max_size=10), "data": documents})},
        optional={"event_type": st.sampled_from(["incident.triggered", "incident.resolved"])},
    ),
    st.fixed_dictionaries(
        {"event_type": st.sampled_from(["public_incident.incident_created_v2", "x"])},
        optional={"public_incident": documents},
    ),
    st.fixed_dictionaries(
        {"webhookEvent": st.sampled_from(["jira:issue_updated", "x"])},
        optional={"issue": documents},
    ),
)
bodies = st.one_of(
    vendor_documents.map(lambda d: json.dumps(d).encode()),
    documents.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=300),
    st.just(SURROGATE_DELIVERY),
    st.just(b"[" * 5000 + b"]" * 5000),
)
content_types = st.sampled_from(
    [
        b"application/json",
        b"application/x-www-form-urlencoded",
        b"text/plain",
        b"application/json; charset=nope",
        b"application/json; charset=utf-8",
        b"",
    ]
)
sources = st.sampled_from([*SECRETS, "nope", "%E9", "pagerduty/extra", "..%2F"])
webhook_headers = st.lists(
    st.tuples(
        st.sampled_from(
            [
                b"X-PagerDuty-Signature",
                b"X-Webhook-Id",
                b"webhook-id",
                b"webhook-timestamp",
                b"webhook-signature",
                b"X-Slack-Request-Timestamp",
                b"X-Slack-Signature",
                b"X-Hub-Signature",
                b"X-Atlassian-Webhook-Identifier",
                b"Content-Encoding",
                b"Authorization",
                b"X-Request-Id",
                b"User-Agent",
            ]
        ),
        header_value,
    ),
    max_size=4,
)


def _path_value(template_part: str) -> st.SearchStrategy[str]:
    if template_part == "{job_id}":
        return st.integers(min_value=-1, max_value=10**30).map(str) | st.text(
            min_size=1, max_size=12
        )
    return st.sampled_from(["pm:pagerduty:P1", "pagerduty:P1"]) | st.text(min_size=1, max_size=20)


@st.composite
def admin_requests(draw: st.DrawFn) -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
    operations = [
        (method.upper(), template)
        for template, item in openapi_document()["paths"].items()
        for method in item
    ]
    method, template = draw(st.sampled_from(operations))
    parts = []
    for part in template.split("/"):
        value = draw(_path_value(part)) if part.startswith("{") else part
        parts.append(quote(value, safe=":") if part.startswith("{") else value)
    query = draw(
        st.dictionaries(
            st.sampled_from(["limit", "state", "kind", "from", "to", "team", "format"]),
            st.sampled_from(["0", "1", "1000", "1001", "dead", "text", "json", "2026-01-01"])
            | st.text(max_size=12),
            max_size=3,
        )
    )
    path = "/".join(parts)
    if query:
        path += "?" + "&".join(f"{key}={quote(value)}" for key, value in query.items())
    token = draw(st.sampled_from([b"Bearer " + ADMIN_TOKEN.encode()]) | header_value)
    headers = [(b"Authorization", token), (b"Content-Type", draw(content_types))]
    headers += draw(
        st.lists(
            st.tuples(st.sampled_from([b"Idempotency-Key", b"Content-Encoding"]), header_value),
            max_size=2,
        )
    )
    return method, path, headers, draw(bodies)


# --- the properties -----------------------------------------------------------------


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()


def _config(tmp_path: Path, db_url: str) -> Path:
    config = write_config(tmp_path, db_url)
    text = config.read_text().replace("admin:", EXTRA_SOURCES + "admin:")
    config.write_text(text + "log:\n  level: debug\n  format: json\n")
    return config


def test_no_request_gets_a_5xx_and_no_secret_is_logged(
    tmp_path: Path, db_url: str, captured_logs: io.StringIO
) -> None:
    config = _config(tmp_path, db_url)
    secrets = secret_values(load_settings(config))
    assert {PAGERDUTY_SECRET, SLACK_SECRET, JIRA_SECRET, ADMIN_TOKEN} <= set(secrets)
    configure_logging(level="debug", fmt="json", secrets=secrets, stream=captured_logs)
    answered: list[int] = []

    with daemon_in_thread(config) as daemon:
        port = daemon.port
        # One authentic delivery for certain (a lone surrogate in its title), then the fuzz.
        body = SURROGATE_DELIVERY
        headers = signed_headers("pagerduty", PAGERDUTY_SECRET, body, datetime.now(UTC))
        raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
        assert send(port, request_bytes("POST", "/webhooks/pagerduty", raw_headers, body)) == 202

        @FUZZ
        @given(
            source=sources,
            content_type=st.none() | content_types,
            body=bodies,
            signed=st.booleans(),
            corrupt=st.none() | st.tuples(st.integers(0, 3), header_value),
            extra=webhook_headers,
        )
        def webhook(
            *,
            source: str,
            content_type: bytes | None,
            body: bytes,
            signed: bool,
            corrupt: tuple[int, bytes] | None,
            extra: list[tuple[bytes, bytes]],
        ) -> None:
            headers = [*extra]
            if signed and source in SECRETS:
                signature = signed_headers(source, SECRETS[source], body, datetime.now(UTC))
                headers += [(k.encode(), v.encode()) for k, v in signature.items()]
                if corrupt is not None:  # one header of an authentic delivery, any bytes
                    at = corrupt[0] % len(headers)
                    headers[at] = (headers[at][0], corrupt[1])
            if content_type is not None or not signed:
                headers = [h for h in headers if h[0] != b"Content-Type"]
                headers.append((b"Content-Type", content_type or b"application/json"))
            status = send(port, request_bytes("POST", f"/webhooks/{source}", headers, body))
            answered.append(status)
            assert status < 500, (source, headers, body[:200])

        @FUZZ
        @given(admin_requests())
        def admin(request: tuple[str, str, list[tuple[bytes, bytes]], bytes]) -> None:
            method, path, headers, body = request
            status = send(port, request_bytes(method, path, headers, body))
            answered.append(status)
            assert status < 500, request

        webhook()
        admin()
        # The process is up and answers as before.
        assert send(port, request_bytes("GET", "/healthz", [], b"")) == 200

    assert answered
    # Accepted means processed: every delivery the door took was ingested.
    assert daemon.ingests
    assert [job for job in daemon.ingests if job.state is not JobState.DONE] == []
    assert all(0 < status < 500 for status in answered)
    output = captured_logs.getvalue()
    assert '"http.request"' in output
    assert "http.unhandled_error" not in output
    for secret in secrets:
        assert secret not in output, f"a configured secret leaked into the log: {secret[:4]}…"
