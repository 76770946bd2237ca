"""The mapping from Jira's answers to `hub.errors`, one status at a time."""

from __future__ import annotations

import json

import pytest
import requests
from jira import JIRAError

from connectors.jira.errors import (
    describe_error_body,
    error_for_jira_error,
    error_for_request_exception,
)
from hub.errors import AuthFailed, ConnectorError, Permanent, RateLimited, Transient


def _error(status: int, body: object = None, headers: dict[str, str] | None = None) -> JIRAError:
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response.headers.update(headers or {})
    response._content = json.dumps(body).encode() if body is not None else b"<html>oops</html>"
    return JIRAError("flattened", status_code=status, response=response)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, Permanent),
        (401, AuthFailed),
        (403, Permanent),
        (404, Permanent),
        (408, Transient),
        (409, Transient),
        (422, Permanent),
        (429, RateLimited),
        (500, Transient),
        (503, Transient),
    ],
)
def test_status_to_error_class(status: int, kind: type[ConnectorError]) -> None:
    error = error_for_jira_error(_error(status, {"errorMessages": ["x"]}), "GET issue")
    assert type(error) is kind


def test_blocked_account_403_is_auth_failed() -> None:
    error = error_for_jira_error(
        _error(403, None, {"X-Authentication-Denied-Reason": "CAPTCHA_CHALLENGE"}), "GET issue"
    )
    assert isinstance(error, AuthFailed)
    assert "CAPTCHA_CHALLENGE" in error.message


def test_retry_after_is_carried() -> None:
    error = error_for_jira_error(_error(503, {}, {"Retry-After": "12"}), "POST issue")
    assert isinstance(error, Transient)
    assert error.retry_after == 12


def test_reason_names_fields_and_messages() -> None:
    body = {"errorMessages": ["Bad input"], "errors": {"priority": "invalid", "labels": "spaces"}}
    error = error_for_jira_error(_error(400, body), "POST issue")
    assert isinstance(error, Permanent)
    assert error.reason == "Jira POST issue: HTTP 400: Bad input; priority: invalid; labels: spaces"


def test_a_non_json_error_page_is_summarised_not_quoted() -> None:
    error = error_for_jira_error(_error(502), "GET issue")
    assert error.message == "Jira GET issue: HTTP 502: Reason"


def test_no_status_is_transient() -> None:
    assert isinstance(error_for_jira_error(JIRAError("Empty Response!"), "x"), Transient)


def test_describe_other_shapes() -> None:
    assert describe_error_body({"message": "old style"}) == "old style"
    assert describe_error_body(["not", "a", "dict"]) == ""


def test_network_and_configuration_failures() -> None:
    assert isinstance(
        error_for_request_exception(requests.ConnectionError("reset"), "x"), Transient
    )
    assert isinstance(error_for_request_exception(requests.ReadTimeout("slow"), "x"), Transient)
    assert isinstance(
        error_for_request_exception(requests.exceptions.InvalidURL("u"), "x"), Permanent
    )
