"""Checks a schema cannot express, made when a policy loads rather than when an incident needs it.

Roles that exist; templates that compile
and render against a sample incident; reminders that have what they count
from; rule names unique across files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from jinja2 import Template as JinjaTemplate
from jinja2.sandbox import SandboxedEnvironment

from hub.model.incident import Severity
from hub.policy.calendar import WorkCalendar
from hub.policy.directory import known_roles
from hub.policy.document_checks import load_document_templates
from hub.policy.durations import Elapsed
from hub.policy.errors import Problem
from hub.policy.policyset import SEVERITY_TABLES, Policy, severity_tables
from hub.policy.schema import CHAT_GROUP, WEEKDAY_NAMES, CalendarSpec, PolicySpec, RuleSpec
from hub.policy.teams import target_positions
from hub.policy.templates import (
    DEFAULT_MESSAGES,
    TemplateProblem,
    make_environment,
    validate,
)
from hub.yamlpos import YamlDocument

Loc = tuple[str | int, ...]


class _Report:
    def __init__(self, doc: YamlDocument, filename: str) -> None:
        self.doc, self.filename = doc, filename
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str, *, key: bool = False) -> None:
        pos = self.doc.position(loc, key=key)
        self.problems.append(Problem(self.filename, pos.line, pos.column, message))


def build_policy(
    spec: PolicySpec, doc: YamlDocument, filename: str
) -> tuple[Policy | None, list[Problem]]:
    report = _Report(doc, filename)
    calendar = _calendar(spec.calendar)
    env = make_environment(calendar.tz)
    messages = _messages(spec, env, report)
    labels: dict[str, tuple[JinjaTemplate, ...]] = {}
    roles = known_roles(spec.directory)
    seen: dict[str, int] = {}
    for index, rule in enumerate(spec.rules):
        loc: Loc = ("rules", index)
        if rule.name in seen:
            report.add(
                (*loc, "name"),
                f"rule name {rule.name!r} is already used by rules[{seen[rule.name]}]",
            )
        seen.setdefault(rule.name, index)
        _check_rule(rule, loc, roles, report)
        labels[rule.name] = _labels(rule, loc, env, report)
    documents = load_document_templates(spec, filename, report)
    if report.problems:
        return None, report.problems
    policy = Policy(
        filename,
        spec,
        calendar,
        messages,
        labels,
        _positions(spec, doc),
        documents=documents.bodies,
        document_titles=documents.titles,
    )
    return policy, []


def _positions(spec: PolicySpec, doc: YamlDocument) -> dict[tuple[str, ...], tuple[int, int]]:
    found: dict[tuple[str, ...], tuple[int, int]] = {}
    for index, rule in enumerate(spec.rules):
        pos = doc.position(("rules", index, "name"))
        found[("rule", rule.name)] = (pos.line, pos.column)
    if doc.data_at(("severities",)) is not None:
        pos = doc.position(("severities",), key=True)
        found[("severities",)] = (pos.line, pos.column)
    for path in SEVERITY_TABLES.values():
        for key in doc.data_at(path) or {}:
            pos = doc.position((*path, key), key=True)
            found[(*path, str(key))] = (pos.line, pos.column)
    found.update(target_positions(spec, doc))  # issue 15: for `pmhub check`'s target checks
    return found


def across_files(policies: Sequence[Policy]) -> list[Problem]:
    return _duplicate_rule_names(policies) + _conflicting_severities(policies)


def _conflicting_severities(policies: Sequence[Policy]) -> list[Problem]:
    """Adapters get one mapping for all files, so two files must not disagree on a value."""
    seen: dict[tuple[str, str], tuple[Severity, str]] = {}
    problems: list[Problem] = []
    first_default: tuple[Severity, str] | None = None
    for policy in policies:
        default = policy.spec.severities.default
        if default is None:
            continue
        if first_default is not None and first_default[0] is not default:
            line, column = policy.positions.get(("severities",), (1, 1))
            message = (
                f"severities.default is {default} here but {first_default[0]} in {first_default[1]}"
            )
            problems.append(Problem(policy.path, line, column, message))
        first_default = first_default or (default, policy.path)
    for policy in policies:
        for table, entries in severity_tables(policy).items():
            for name, severity in entries.items():
                first = seen.setdefault((table, name.casefold()), (severity, policy.path))
                if first[0] is not severity:
                    line, column = policy.positions.get((*SEVERITY_TABLES[table], name), (1, 1))
                    message = f"{name!r} maps to {severity} here but to {first[0]} in {first[1]}"
                    problems.append(Problem(policy.path, line, column, message))
    return problems


def _duplicate_rule_names(policies: Sequence[Policy]) -> list[Problem]:
    """Rule names are unique across all files: intents and audit records name rules."""
    first: dict[str, str] = {}
    problems: list[Problem] = []
    for policy in policies:
        for rule in policy.spec.rules:
            if rule.name in first:
                problems.append(
                    Problem(
                        policy.path,
                        *policy.positions.get(("rule", rule.name), (1, 1)),
                        f"rule name {rule.name!r} is already used in {first[rule.name]}",
                    )
                )
            first.setdefault(rule.name, policy.path)
    return problems


# -- calendar ------------------------------------------------------------------------


def _calendar(spec: CalendarSpec) -> WorkCalendar:
    # The schema has checked the zone, the holiday region and the hours.
    return WorkCalendar(
        tz=ZoneInfo(spec.timezone),
        working_days=frozenset(WEEKDAY_NAMES.index(day) for day in spec.working_days),
        start=spec.working_hours.start,
        end=spec.working_hours.end,
        country=spec.holidays.country,
        subdivision=spec.holidays.subdivision,
        extra_holidays=frozenset(spec.extra_holidays),
        not_holidays=frozenset(spec.not_holidays),
    )


# -- rules ---------------------------------------------------------------------------


def _check_rule(rule: RuleSpec, loc: Loc, roles: set[str], report: _Report) -> None:
    meeting = rule.meeting
    if meeting is not None:
        if not isinstance(meeting.duration, Elapsed) or meeting.duration.delta <= timedelta(0):
            report.add((*loc, "meeting", "duration"), "a meeting lasts minutes or hours, e.g. 30m")
        for index, role in enumerate(meeting.invite):
            _check_role(role, (*loc, "meeting", "invite", index), roles, report)
        for index, role in enumerate(meeting.invite_optional):
            _check_role(role, (*loc, "meeting", "invite_optional", index), roles, report)
        for role in meeting.invite_when:
            _check_role(role, (*loc, "meeting", "invite_when", role), roles, report, key=True)
    if (
        rule.review is not None
        and meeting is None
        and "share_before_meeting" in rule.review.model_fields_set
        and rule.review.share_before_meeting is not None
    ):
        report.add((*loc, "review"), "review.share_before_meeting needs a meeting section")
    _check_reminders(rule, loc, roles, report)
    escalate = rule.follow_ups.escalate if rule.follow_ups else None
    for index, role in enumerate(escalate.to if escalate else ()):  # issue 15
        _check_role(role, (*loc, "follow_ups", "escalate", "to", index), roles, report)


def _check_role(
    role: str, loc: Loc, roles: set[str], report: _Report, *, key: bool = False
) -> None:
    if "@" in role or role in roles:
        return
    allowed = ", ".join(sorted(roles))
    report.add(loc, f"unknown role {role!r} (allowed: {allowed}, or an email)", key=key)


def _check_reminders(rule: RuleSpec, loc: Loc, roles: set[str], report: _Report) -> None:
    clauses: set[str] = set()
    for index, reminder in enumerate(rule.reminders):
        here: Loc = (*loc, "reminders", index)
        if reminder.clause in clauses:
            report.add(here, f"two reminders named {reminder.clause!r}: give one a `name`")
        clauses.add(reminder.clause)
        if reminder.after is not None and reminder.before_meeting is not None:
            report.add(here, "a reminder counts either `after` the anchor or `before_meeting`")
        needs_meeting = reminder.before_meeting is not None or reminder.if_ in (
            "overdue",
            "meeting_not_scheduled",
        )
        if needs_meeting and rule.meeting is None:
            report.add(here, f"reminder {reminder.clause!r} needs a meeting section to count from")
        for number, role in enumerate(reminder.notify):
            _check_role(role, (*here, "notify", number), roles, report)
        for number, role in enumerate(reminder.escalate_to):
            if not CHAT_GROUP.match(role):  # a Slack user group id is fine here
                _check_role(role, (*here, "escalate_to", number), roles, report)


# -- templates -----------------------------------------------------------------------


def _labels(
    rule: RuleSpec, loc: Loc, env: SandboxedEnvironment, report: _Report
) -> tuple[JinjaTemplate, ...]:
    compiled: list[JinjaTemplate] = []
    for index, source in enumerate(rule.follow_ups.labels if rule.follow_ups else []):
        try:
            compiled.append(validate(env, source, "label"))
        except TemplateProblem as exc:
            report.add((*loc, "follow_ups", "labels", index), str(exc))
    return tuple(compiled)


def _messages(
    spec: PolicySpec, env: SandboxedEnvironment, report: _Report
) -> dict[str, JinjaTemplate]:
    compiled: dict[str, JinjaTemplate] = {}
    for kind, default in DEFAULT_MESSAGES.items():
        source = getattr(spec.messages, kind) or default
        try:
            compiled[kind] = validate(env, source, kind)
        except TemplateProblem as exc:
            report.add(("messages", kind), str(exc))
    return compiled
