"""Jira failures → `hub.errors`, with Jira's own words and never a credential.

Jira answers errors as `{"errorMessages": [...], "errors": {"field": "message"}}`;
the `jira` package flattens that into `JIRAError.text` and drops the field names,
so the body is read again here: a dead letter saying "priority: The priority
selected is invalid." tells a person what to fix.

403 is split: Jira sends it with `X-Authentication-Denied-Reason` when the account
itself is blocked (a CAPTCHA after failed logins, a disabled account): that is
AuthFailed, pause the connector. Any other 403 means these valid credentials lack a
permission for this project or issue (create, transition, edit properties): that
is Permanent for the one effect, since other projects and operations still work
and no retry will grant the permission.
"""

from __future__ import annotations

from typing import Any

import requests
from jira import JIRAError

from connectors.common.retry_after import parse_retry_after
from hub.errors import AuthFailed, ConnectorError, Permanent, RateLimited, Transient

MESSAGE_LIMIT = 500
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403
HTTP_REQUEST_TIMEOUT = 408
HTTP_CONFLICT = 409
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
AUTH_DENIED_HEADER = "X-Authentication-Denied-Reason"


def describe_error_body(body: Any) -> str:
    """Jira's error collection as one line: messages first, then `field: message`."""
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    messages = body.get("errorMessages")
    if isinstance(messages, list):
        parts.extend(str(message) for message in messages if message)
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{field}: {message}" for field, message in errors.items())
    for key in ("message", "errorMessage"):  # older and gateway-level shapes
        if isinstance(body.get(key), str) and not parts:
            parts.append(body[key])
    return "; ".join(parts)


def _response_text(response: requests.Response | None) -> str:
    if response is None:
        return ""
    try:
        described = describe_error_body(response.json())
    except ValueError:
        described = ""
    if described:
        return described
    # Not JSON (a proxy's page, a gateway timeout): the reason phrase, not the page.
    return response.reason or ""


def error_for_jira_error(exc: JIRAError, what: str) -> ConnectorError:
    status = exc.status_code
    response = exc.response
    if status is None:
        # The package's own complaints without an HTTP answer ("Empty Response!").
        return Transient(f"Jira {what}: {exc.text or 'no answer'}"[:MESSAGE_LIMIT])
    detail = _response_text(response) or (exc.text or "")
    message = f"Jira {what}: HTTP {status}: {detail}"[:MESSAGE_LIMIT]
    headers = response.headers if response is not None else {}
    retry_after = parse_retry_after(headers.get("Retry-After"))
    error: ConnectorError
    if status == HTTP_UNAUTHORIZED:
        error = AuthFailed(message)
    elif status == HTTP_FORBIDDEN and headers.get(AUTH_DENIED_HEADER):
        error = AuthFailed(
            f"Jira {what}: HTTP 403: account blocked ({headers[AUTH_DENIED_HEADER]})"
        )
    elif status == HTTP_FORBIDDEN:
        error = Permanent(f"{message} (the pmhub account lacks a permission)"[:MESSAGE_LIMIT])
    elif status == HTTP_TOO_MANY_REQUESTS:
        error = RateLimited(message, retry_after=retry_after)
    elif status >= HTTP_SERVER_ERROR or status in (HTTP_REQUEST_TIMEOUT, HTTP_CONFLICT):
        # 409: "a conflicting update" (a concurrent edit); the next attempt sees the new state.
        error = Transient(message, retry_after=retry_after)
    else:
        error = Permanent(message)
    return error


def error_for_request_exception(exc: requests.RequestException, what: str) -> ConnectorError:
    """No HTTP answer: refused, reset, dropped, TLS failure, timeout."""
    misconfigured = (
        requests.exceptions.InvalidURL,
        requests.exceptions.InvalidSchema,
        requests.exceptions.MissingSchema,
    )
    if isinstance(exc, misconfigured):
        return Permanent(f"Jira {what}: {type(exc).__name__}: check the configured url")
    # requests' messages name the URL and the cause, never the credentials (they
    # travel in a header the exception does not print).
    return Transient(f"Jira {what}: {type(exc).__name__}: {exc}"[:MESSAGE_LIMIT])
