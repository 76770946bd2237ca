"""The tests' structlog defaults (tests/conftest.py): a logged exception is printed as a
plain traceback; rich's, with every frame's locals, cost seconds per fault test."""

from __future__ import annotations

import pytest
import structlog

LOCAL_VALUE = "a-local-value-rich-would-print"


def _fail() -> None:
    marker = LOCAL_VALUE  # a local: rich would print it
    raise ValueError("the store is gone" + marker[:0])


def test_a_logged_exception_is_printed_as_a_plain_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        _fail()
    except ValueError:
        structlog.get_logger("test").exception("store.failed")
    out = capsys.readouterr().out
    assert "store.failed" in out
    assert "Traceback (most recent call last):" in out
    assert "ValueError: the store is gone" in out
    assert LOCAL_VALUE not in out  # no locals: rich's formatter shows them
