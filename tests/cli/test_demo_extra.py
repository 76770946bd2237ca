"""`pmhub demo` without its extra says what to install, in one line."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from hub.cli import main


def test_a_missing_demo_extra_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if `pip install pmhub` without [demo]: aiosmtpd cannot be imported, and the
    # sandbox (which needs it) was never imported before.
    for name in [n for n in sys.modules if n == "aiosmtpd" or n.startswith("aiosmtpd.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aiosmtpd", None)
    for name in [n for n in sys.modules if n.startswith(("hub.demo.", "connectors.email.fake"))]:
        if name != "hub.demo.command":
            monkeypatch.delitem(sys.modules, name)
    result = CliRunner().invoke(main, ["demo", "--once", "--port", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "pmhub demo needs the demo extra (aiosmtpd is missing): "
        "pip install 'pmhub[demo]', or run `make run`"
    )
