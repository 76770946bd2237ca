"""Logging: pmhub's own lines and the libraries' share one stream, format and redaction."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from hub.logging import configure_logging

SECRET = "s3cr3t-value-42"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_below_the_level_are_dropped_and_the_rest_rendered(stream: io.StringIO) -> None:
    configure_logging(level="warning", fmt="json", secrets=[SECRET], stream=stream)
    log = structlog.get_logger("pmhub.test")
    log.info("http.request", status=202)
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        log.warning("webhook.store_failed", detail=f"token {SECRET} refused")
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    logging.getLogger("some.library").warning("library says %s", SECRET)
    first, second = _lines(stream)
    assert first["event"] == "webhook.store_failed"
    assert (first["level"], first["logger"], first["request_id"]) == (
        "warning",
        "pmhub.test",
        "r-1",
    )
    assert first["detail"] == "token [redacted] refused"
    assert "timestamp" in first
    assert second["event"] == "library says [redacted]"
    assert (second["level"], second["logger"]) == ("warning", "some.library")


def test_info_level_writes_the_summary_line_with_its_exception(stream: io.StringIO) -> None:
    configure_logging(level="info", fmt="json", stream=stream)
    log = structlog.get_logger("pmhub.http")
    log.info("http.request", status=202, duration_ms=1.5)
    try:
        int("boom")
    except ValueError:
        log.exception("http.unhandled_error")
    summary, error = _lines(stream)
    assert (summary["event"], summary["status"], summary["level"]) == ("http.request", 202, "info")
    assert error["level"] == "error"
    assert "ValueError: invalid literal for int()" in str(error["exception"])


def test_an_unknown_level_is_refused(stream: io.StringIO) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging(level="chatty", fmt="json", stream=stream)
