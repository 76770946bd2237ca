"""`teams:` and `digest:` in pmhub.yaml (issue 15), and the checks that targets are configured.

    teams:                          # first match wins; an incident no team claims has none
      checkout:
        when: {service: [Checkout API]}          # the policy's condition language
        targets: {slack: {channel: C0CHKOUT1}, jira: {project: CHK, components: [Checkout]}}
      search:
        when: {any: [{team: [Search]}, {custom_fields: {Team: [Search]}}]}
        targets: {slack: {channel: C0SEARCH1}, jira: {project: SRCH}}
    digest: {day: mon, time: "09:00", timezone: America/New_York}

A target names a place in a tool (a channel, a project), never credentials: each
needs its connector section under `connectors:` (`hub.config.team_checks`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field

from hub.config.types import FrozenModel
from hub.policy.schema_teams import TeamName

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: str) -> str:
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value.strip()):
        raise ValueError(f"not a time of day: {value!r} (allowed: HH:MM, e.g. '09:00')")
    return value.strip()


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        from zoneinfo import available_timezones  # noqa: PLC0415 - only on an error

        close = difflib.get_close_matches(value, sorted(available_timezones()), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ValueError(f"unknown time zone {value!r} ({hint}allowed: IANA names)") from None
    return value


class DigestSettings(FrozenModel):
    """The weekly digest each team gets: in its Slack channel, and by email when configured."""

    day: Weekday = Field(default="mon", description="Weekday the digest is sent.")
    time: Annotated[str, AfterValidator(_clock)] = Field(
        default="09:00", description="Time of day it is sent (HH:MM), in `timezone`."
    )
    timezone: Annotated[str, AfterValidator(_zone)] = Field(
        default="UTC", description="IANA time zone of `day` and `time`."
    )

    @property
    def at(self) -> dt.time:
        hours, minutes = (int(part) for part in self.time.split(":"))
        return dt.time(hours, minutes)

    @property
    def weekday(self) -> int:
        return WEEKDAYS.index(self.day)


__all__ = ["DigestSettings", "TeamName"]
