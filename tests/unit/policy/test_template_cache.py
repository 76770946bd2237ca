"""Compiled templates are shared (hub/policy/templates.py), but never across time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hub.policy.templates import compile_template, make_environment, render

SOURCE = "{{ at | date('%H:%M %Z') }}"
AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_one_source_renders_on_each_policy_s_own_clock() -> None:
    shown = {
        zone: render(compile_template(make_environment(ZoneInfo(zone)), SOURCE), {"at": AT})
        for zone in ("America/New_York", "Europe/Berlin", "America/New_York")
    }
    assert shown == {"America/New_York": "10:00 EST", "Europe/Berlin": "16:00 CET"}


def test_a_source_is_compiled_once_per_zone() -> None:
    env = make_environment(ZoneInfo("Asia/Tokyo"))
    assert make_environment(ZoneInfo("Asia/Tokyo")) is env
    assert compile_template(env, SOURCE) is compile_template(env, SOURCE)
    other = make_environment(ZoneInfo("Europe/Berlin"))
    assert compile_template(other, SOURCE) is not compile_template(env, SOURCE)
