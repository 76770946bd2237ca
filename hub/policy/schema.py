"""The policy language: what a policy file may say, as pydantic models.

These models are the single source of the policy's shape: the loader validates
files with them (its messages name the allowed keys and values by walking these
models), and `policy_json_schema()` serves editors (`pmhub schema policy`).
Semantic checks that need more than one field (templates render, roles exist,
time zone and holiday country are real) live in `hub.policy.checks`.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic import PlainSerializer as Serializer
from pydantic.json_schema import GenerateJsonSchema

from hub.model.incident import Severity, Source
from hub.policy.durations import BusinessDays, CalendarDays, Duration, Elapsed
from hub.policy.schema_base import EMAIL_RE as _EMAIL
from hub.policy.schema_base import DurationValue, Email, Strings, Template
from hub.policy.schema_base import as_list as _as_list
from hub.policy.schema_document import DocumentSpec, ResultsEmailSpec, TimelineSpec
from hub.policy.schema_teams import FollowUpDueSpec, PolicyTargetsSpec

ReminderCondition = Literal[
    "meeting_not_scheduled",
    "status_is_draft",
    "not_reviewed",
    "overdue",
    "follow_ups_not_filed",
    "external_message_missing",
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DeadlineKey = Literal["SEV-1", "SEV-2", "SEV-3", "SEV-4", "unknown", "default"]

OWNER_SOURCES = (
    "designated",
    "incident_commander",
    "first_acknowledger",
    "primary_oncall",
    "manual_trigger",
    "reporter",
    "first_assignee",
)
REMINDER_CONDITIONS: tuple[str, ...] = get_args(ReminderCondition)
WEEKDAY_NAMES: tuple[str, ...] = get_args(Weekday)
STATUSPAGE_BODY_LIMIT = 25_000  # Statuspage: "There is a maximum limit of 25000 characters"

# A Slack user group's id (`S0123ABCD`): a mention needs the id, not the @handle.
CHAT_GROUP = re.compile(r"^S[A-Z0-9]{6,}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _clock(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value.strip()):
        hours, minutes = (int(part) for part in value.strip().split(":"))
        return time(hours, minutes)
    raise ValueError(f"not a time of day: {value!r} (allowed: HH:MM, e.g. '09:00')")


def _owner_entry(value: object) -> str:
    if isinstance(value, str) and (value in OWNER_SOURCES or _EMAIL.match(value)):
        return value
    raise ValueError(
        f"unknown owner source {value!r} (allowed: {', '.join(OWNER_SOURCES)}, or an email)"
    )


def _fallback(value: object) -> str:
    if isinstance(value, str) and (_EMAIL.match(value) or CHAT_GROUP.match(value)):
        return value
    raise ValueError(
        f"not an owner fallback: {value!r} (allowed: an email, or a Slack user group id "
        "such as S0123ABCD)"
    )


def _timezone(value: object) -> str:
    if isinstance(value, str):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value
    close = difflib.get_close_matches(str(value), sorted(available_timezones()), n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ValueError(
        f"unknown time zone {value!r} ({hint}allowed: IANA names like UTC, Europe/Berlin)"
    )


ClockTime = Annotated[
    time,
    PlainValidator(_clock),
    Serializer(lambda t: t.strftime("%H:%M")),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}$"}),
]
OwnerEntry = Annotated[
    str,
    PlainValidator(_owner_entry),
    WithJsonSchema({"type": "string", "description": f"one of {OWNER_SOURCES} or an email"}),
]
Fallback = Annotated[
    str,
    PlainValidator(_fallback),
    WithJsonSchema({"type": "string", "description": "an email or a Slack user group id (S…)"}),
]
TimeZoneName = Annotated[
    str, PlainValidator(_timezone), WithJsonSchema({"type": "string", "description": "IANA zone"})
]
Name = Annotated[str, Field(pattern=_NAME.pattern)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HolidaysSpec(Spec):
    """Public holidays of the `holidays` package for a country (and subdivision)."""

    country: str | None = Field(default=None, description="ISO 3166 code, e.g. US, DE")
    subdivision: str | None = Field(default=None, description="state/province code, e.g. CA")

    @field_validator("country")
    @classmethod
    def _known_country(cls, country: str | None) -> str | None:
        supported = holidays.list_supported_countries()
        if country is not None and country not in supported:
            codes = ", ".join(sorted(c for c in supported if re.fullmatch("[A-Z]{2}", c)))
            raise ValueError(f"unknown holiday country {country!r} (allowed: {codes})")
        return country

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, subdivision: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if subdivision is None:
            return None
        if country is None:
            raise ValueError("a subdivision needs a country")
        allowed = holidays.list_supported_countries()[country]
        if subdivision not in allowed:
            names = ", ".join(allowed) or "none"
            raise ValueError(f"unknown subdivision {subdivision!r} of {country} (allowed: {names})")
        return subdivision


class WorkingHoursSpec(Spec):
    start: ClockTime = time(9)
    end: ClockTime = time(17)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHoursSpec:
        if self.end <= self.start:
            raise ValueError("working hours must end after they start, on the same day")
        return self


class CalendarSpec(Spec):
    timezone: TimeZoneName = "UTC"
    holidays: HolidaysSpec = HolidaysSpec()
    extra_holidays: list[date] = []
    not_holidays: list[date] = []
    working_days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    working_hours: WorkingHoursSpec = WorkingHoursSpec()

    @model_validator(mode="after")
    def _disjoint(self) -> CalendarSpec:
        both = sorted(set(self.extra_holidays) & set(self.not_holidays))
        if both:
            days = ", ".join(day.isoformat() for day in both)
            raise ValueError(f"days listed both in extra_holidays and not_holidays: {days}")
        return self


class PagerDutySeveritiesSpec(Spec):
    priority: dict[str, Severity] = {}
    urgency: dict[str, Severity] = {}


class SeveritiesSpec(Spec):
    pagerduty: PagerDutySeveritiesSpec = PagerDutySeveritiesSpec()
    incidentio: dict[str, Severity] = {}
    # -- issue 13: incidents without a severity -----------------------------------------
    default: Severity | None = Field(
        default=None,
        description="the severity of an incident its source gives none (incident.io: no "
        "severity set; PagerDuty: neither priority nor urgency). Without it such an incident "
        "is 'unknown', and only a rule matching 'unknown' (or none) takes it. A value the "
        "tables do not name stays 'unknown': `pmhub check` warns about those",
    )


class Condition(Spec):
    """Every key given must match; lists match any of their values; {} matches everything."""

    severity: Annotated[list[Severity], BeforeValidator(_as_list)] | None = None
    source: Annotated[list[Source], BeforeValidator(_as_list)] | None = None
    service: Strings | None = Field(default=None, description="service ids or names")
    team: Strings | None = Field(default=None, description="team ids or names")
    type: Strings | None = None
    false_positive: bool | None = None
    full_outage: bool | None = None
    custom_fields: dict[str, Strings] | None = None
    all_: list[Condition] | None = Field(default=None, alias="all")
    any_: list[Condition] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")


class MeetingSpec(Spec):
    deadline: dict[DeadlineKey, DurationValue]
    anchor: Literal["resolved", "owner_designated"] = "resolved"
    not_before: DurationValue | None = Field(
        default=None,
        description="how long after the anchor the meeting may start at the earliest, so "
        "the post-mortem can be written and shared for review first (seed 004). Unset: "
        "one business day of writing plus `review.share_before_meeting`. Only when the "
        "deadline leaves no working time after it is the meeting booked earlier (the "
        "latest slot before it), and the owner is told why",
    )
    duration: DurationValue = Elapsed(timedelta(minutes=30))
    calendar: str = Field(min_length=1)
    invite: Strings = Field(default=[], description="roles (or emails) to invite")
    invite_when: dict[str, Condition] = Field(
        default={}, description="invite these roles only when the condition matches"
    )
    observers: Annotated[list[Email], BeforeValidator(_as_list)] = []
    rebook_when_cancelled: bool = Field(
        default=False,
        description="when a person cancels or deletes the meeting, book another one (true), "
        "or wait for a person to book one and link it with `/postmortem meeting` (false). "
        "Either way the owner is told once",
    )
    # -- issue 13: optional attendees -------------------------------------------------
    invite_optional: Strings = Field(
        default=[],
        description="roles (or emails) invited as optional attendees: told, not waited "
        "for (seed 004's customer liaison); their calendars weigh less when the time is "
        "chosen. A role also under `invite_when` is invited only when that matches",
    )
    check_every: DurationValue = Field(
        default=Elapsed(timedelta(hours=1)),
        description="how often pmhub reads the booked event back until it starts, to notice "
        "a person moving it (and tell the owner if it now ends after the deadline)",
    )

    @field_validator("check_every")
    @classmethod
    def _some_time(cls, value: Duration) -> Duration:
        empty = value.delta <= timedelta(0) if isinstance(value, Elapsed) else value.days <= 0
        if empty:
            raise ValueError("check_every must be longer than nothing, e.g. 1h")
        return value


class ReviewSpec(Spec):
    share_before_meeting: DurationValue | None = Field(
        default=Elapsed(timedelta(hours=24)),
        description="post the post-mortem for review this long before the meeting "
        "(seed 004: about 24 hours); null: no review request",
    )
    # The post-mortem document (issue 14): what the In Review guard reads back.
    requires: list[str] = Field(
        default=[],
        description="sections of the post-mortem document that must have words in them "
        "before it goes to In Review, e.g. [summary, timeline] (headings, case and "
        "numbering ignored); pmhub's own draft section does not count",
    )


class ReminderSpec(Spec):
    name: Name | None = Field(default=None, description="clause name in keys; default: `if`")
    if_: ReminderCondition = Field(alias="if")
    after: DurationValue | None = Field(default=None, description="counted from the anchor")
    before_meeting: DurationValue | None = None
    every: DurationValue | None = Field(default=None, description="repeat while it holds")
    notify: Strings = ["owner"]
    # -- issue 13: escalation that reaches someone else --------------------------------
    escalate_to: Strings = Field(
        default=[],
        description="who an escalation climbs to, in order (roles, emails, Slack user group "
        "ids): the first occurrence goes to `notify`; when that is only the owner (they are "
        "often the IC too), or from the next occurrence on, it goes one step further here. "
        "Nobody hears the same escalation twice, and it never escalates to the owner",
    )

    @property
    def clause(self) -> str:
        return self.name or self.if_


class FollowUpsSpec(FollowUpDueSpec, Spec):
    # FollowUpDueSpec (issue 15, hub.policy.schema_teams): due dates, reminders, escalation.
    labels: list[Template] = []
    priorities: list[str] | None = Field(
        default=None, description="priorities filed without an override; omit to allow any"
    )


class ForbiddenWordSpec(Spec):
    word: str = Field(min_length=1)
    unless: Literal["full_outage"] | None = None


class ExternalMessageSpec(Spec):
    required_for: Annotated[list[Severity], BeforeValidator(_as_list)] = []
    forbidden_words: list[ForbiddenWordSpec] = []
    min_length: int = Field(default=1, ge=1)
    max_length: int = Field(default=STATUSPAGE_BODY_LIMIT, ge=1, le=STATUSPAGE_BODY_LIMIT)


class OwnerFallbackSpec(Spec):
    """The owner chain's last word: who hears at once that nobody owns the post-mortem."""

    fallback: Fallback = Field(
        description="an email (a DM) or a Slack user group id (mentioned in the incidents "
        "channel); the message has a button that makes whoever presses it the owner"
    )


class NoLongerRequiredSpec(Spec):
    """What happens when a post-mortem this rule required stops being required (the
    severity was lowered, or the incident was declined): the owner is asked to keep it
    or close it as not needed; `default` applies if nobody answers within the time."""

    default: Literal["close", "keep"] = Field(
        default="close",
        description="what happens when nobody answers in time: close it as not needed (its "
        "meeting cancelled, the reason in the audit log), or keep it under this rule",
    )
    answer_within: DurationValue = Field(
        default=BusinessDays(1), description="how long the owner has to answer, e.g. 1 business day"
    )


def _owner_item(value: object) -> str | OwnerFallbackSpec:
    """An owner source or email, or the closing `fallback: …` mapping (one clear message
    for a mistake in either, rather than one per shape it could have had)."""
    if isinstance(value, dict):
        if set(value) != {"fallback"}:
            keys = ", ".join(str(key) for key in value)
            raise ValueError(
                f"an owner entry that is a mapping is `fallback: <email or Slack user group "
                f"id>`, not {keys!r}"
            )
        return OwnerFallbackSpec(fallback=_fallback(value["fallback"]))
    return _owner_entry(value)


OwnerItem = Annotated[
    str | OwnerFallbackSpec,
    PlainValidator(_owner_item),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": f"one of {OWNER_SOURCES} or an email"},
                {
                    "type": "object",
                    "properties": {
                        "fallback": {
                            "type": "string",
                            "description": "an email or a Slack user group id (S…)",
                        }
                    },
                    "required": ["fallback"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]


class RuleSpec(Spec):
    name: Name
    when: Condition = Condition()
    postmortem: Literal["required", "optional", "none"]
    owner: Annotated[list[OwnerItem], BeforeValidator(_as_list)] = Field(
        default=list(OWNER_SOURCES),
        description="who owns the post-mortem: the first entry that names someone (an "
        "explicit designation always wins); may end with `fallback: <email or Slack user "
        "group id>`, who hears at once when nobody is found (else the incidents channel)",
    )
    meeting: MeetingSpec | None = None
    review: ReviewSpec | None = None
    reminders: list[ReminderSpec] = []
    follow_ups: FollowUpsSpec | None = None
    external_message: ExternalMessageSpec | None = None
    # The post-mortem document and its results (issue 14: hub.policy.schema_document).
    document: DocumentSpec | None = Field(
        default=None, description="write the post-mortem document (Google Docs, GitHub)"
    )
    results_email: ResultsEmailSpec | None = Field(
        default=None, description="email the results to the stakeholders, once"
    )
    # Where this rule's effects go (issue 15, hub.policy.schema_teams); over the policy's.
    targets: PolicyTargetsSpec | None = None
    # -- issue 13: when the requirement drops ----------------------------------------
    when_no_longer_required: NoLongerRequiredSpec = Field(
        default=NoLongerRequiredSpec(),
        description="when a post-mortem this rule required stops being required (the "
        "severity lowered, the incident declined): ask the owner to keep it or close it",
    )

    @model_validator(mode="after")
    def _fallback_last(self) -> RuleSpec:
        fallbacks = [i for i, e in enumerate(self.owner) if isinstance(e, OwnerFallbackSpec)]
        if len(fallbacks) > 1 or (fallbacks and fallbacks[0] != len(self.owner) - 1):
            raise ValueError("owner: `fallback:` comes once, as the last entry")
        return self

    @property
    def owner_chain(self) -> list[str]:
        """The owner sources and emails, in order (without the fallback)."""
        return [entry for entry in self.owner if isinstance(entry, str)]

    @property
    def owner_fallback(self) -> str | None:
        found = [e.fallback for e in self.owner if isinstance(e, OwnerFallbackSpec)]
        return found[0] if found else None


class DirectorySpec(Spec):
    """People the incident tools do not name: role -> emails, per service, per team, default."""

    default: dict[str, Annotated[list[Email], BeforeValidator(_as_list)]] = {}
    services: dict[str, dict[str, Annotated[list[Email], BeforeValidator(_as_list)]]] = {}
    teams: dict[str, dict[str, Annotated[list[Email], BeforeValidator(_as_list)]]] = {}
    vendor_roles: dict[str, Strings] = Field(
        default={}, description="our role -> incident role names a vendor uses for it"
    )


class MessagesSpec(Spec):
    """Templates for what pmhub says to people; unset ones use the built-in wording."""

    owner_notify: Template | None = None
    optional_ask: Template | None = None
    meeting_title: Template | None = None
    review_request: Template | None = None
    reminder: Template | None = None


class PolicySpec(Spec):
    version: Literal[1]
    calendar: CalendarSpec = CalendarSpec()
    severities: SeveritiesSpec = SeveritiesSpec()
    directory: DirectorySpec = DirectorySpec()
    messages: MessagesSpec = MessagesSpec()
    # How the incident's history becomes the document's timeline (issue 14).
    timeline: TimelineSpec = TimelineSpec()
    # Where effects go, per team (issue 15, hub.policy.schema_teams); rules override it.
    targets: PolicyTargetsSpec = PolicyTargetsSpec()
    rules: list[RuleSpec] = Field(min_length=1)


class _SchemaGenerator(GenerateJsonSchema):
    """Shows defaults as a policy author writes them ('30m', '09:00'), not as Python holds them."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, Elapsed | CalendarDays | BusinessDays):
            return str(dft)
        if isinstance(dft, time):
            return dft.strftime("%H:%M")
        return super().encode_default(dft)


def policy_json_schema() -> dict[str, Any]:
    """JSON Schema of a policy file (for `pmhub schema policy` and editors)."""
    schema = PolicySpec.model_json_schema(
        by_alias=True, mode="validation", schema_generator=_SchemaGenerator
    )
    schema["title"] = "pmhub policy"
    return schema
