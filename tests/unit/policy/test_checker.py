"""`check_policy_files`: every problem at file:line:column, with the allowed values."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from hub.model.incident import Severity
from hub.policy import (
    PolicyError,
    check_policy_files,
    load_policies,
    parse_policy,
    policy_json_schema,
)

from .factories import PAGERDUTY_POLICY, POSTHOG_POLICY

MINIMAL = """\
version: 1
rules:
  - name: all
    postmortem: none
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def messages(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    return [str(p).removeprefix(f"{path}:") for p in check_policy_files([path])]


def test_shipped_policies_pass_the_checker() -> None:
    assert check_policy_files([PAGERDUTY_POLICY]) == []
    assert check_policy_files([POSTHOG_POLICY]) == []
    # Both together too: their rule names and severity maps do not clash.
    assert check_policy_files([PAGERDUTY_POLICY, POSTHOG_POLICY]) == []


def test_shipped_pagerduty_policy_builds_the_severity_map() -> None:
    policies = load_policies([PAGERDUTY_POLICY])
    mapping = policies.severity_map()
    assert mapping.pagerduty("P1", None) == (Severity.SEV1, "P1")
    assert mapping.pagerduty(None, "high") == (Severity.SEV2, "urgency:high")
    assert mapping.incident_io("Major") == (Severity.SEV2, "Major")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            """\
            version: 1
            rules:
              - name: major
                postmortem: requried
            """,
            "4:17: 'requried' is not allowed for rules[0].postmortem "
            "(allowed: required, optional, none)",
        ),
        (
            """\
            version: 1
            rules:
              - name: major
                when: {severity: [SEV-1], colour: red}
                postmortem: required
            """,
            "4:31: unknown key 'colour' in rules[0].when (allowed: severity, source, service, "
            "team, type, false_positive, full_outage, custom_fields, all, any, not)",
        ),
        (
            """\
            version: 1
            rules:
              - name: major
                postmortem: required
                meeting:
                  calendar: PMs
                  deadline: {SEV-1: 3 calendar dayz}
            """,
            "7:25: rules[0].meeting.deadline.SEV-1: unknown unit in '3 calendar dayz' (allowed: "
            "30m, 24h, 90s, 2d, 1w, '30 minutes', '24 hours', '3 calendar days', '3 days', "
            "'5 business days', '1 week')",
        ),
        (
            """\
            version: 1
            rules:
              - name: major
                postmortem: required
                meeting:
                  calendar: PMs
                  deadline: {SEV-7: 2d}
            """,
            "7:18: unknown key 'SEV-7' in rules[0].meeting.deadline "
            "(allowed: SEV-1, SEV-2, SEV-3, SEV-4, unknown, default)",
        ),
        (
            """\
            version: 1
            calendar:
              timezone: America/New_Yrok
            rules: [{name: a, postmortem: none}]
            """,
            "3:13: calendar.timezone: unknown time zone 'America/New_Yrok' (did you mean "
            "America/New_York, America/Nuuk, America/Nome? allowed: IANA names like UTC, "
            "Europe/Berlin)",
        ),
        (
            """\
            version: 1
            calendar:
              holidays: {country: US, subdivision: XX}
            rules: [{name: a, postmortem: none}]
            """,
            "3:40: calendar.holidays.subdivision: unknown subdivision 'XX' of US (allowed: AK, "
            "AL, AR, AS, AZ, CA, CO, CT, DC, DE, FL, GA, GU, HI, IA, ID, IL, IN, KS, KY, LA, MA, "
            "MD, ME, MI, MN, MO, MP, MS, MT, NC, ND, NE, NH, NJ, NM, NV, NY, OH, OK, OR, PA, PR, "
            "RI, SC, SD, TN, TX, UM, UT, VA, VI, VT, WA, WI, WV, WY)",
        ),
        (
            """\
            version: 1
            calendar:
              working_days: [mon, tues]
            rules: [{name: a, postmortem: none}]
            """,
            "3:23: 'tues' is not allowed for calendar.working_days[1] "
            "(allowed: mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: required
                owner: [designated, boss]
            """,
            "5:25: rules[0].owner[1]: unknown owner source 'boss' (allowed: designated, "
            "incident_commander, first_acknowledger, primary_oncall, manual_trigger, reporter, "
            "first_assignee, or an email)",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
            """,
            "3:5: missing required key 'postmortem' in rules[0]",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: none
                postmortem: required
            """,
            "5:5: duplicate key 'postmortem' in rules[0] (first defined at line 4)",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: [none
            """,
            "5:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence)",
        ),
    ],
)
def test_schema_problems_point_at_the_spot(tmp_path: Path, text: str, expected: str) -> None:
    assert messages(tmp_path, text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: required
                follow_ups:
                  labels: ["postmortem", "{{ incident.severty }}"]
            """,
            "6:30: template names something that does not exist: "
            "'dict object' has no attribute 'severty'",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: required
                follow_ups:
                  labels: ["{{ incident.resolved_at | date('%Y') "]
            """,
            "6:16: template does not compile: unexpected end of template, "
            "expected 'end of print statement'.",
        ),
        (
            """\
            version: 1
            messages:
              owner_notify: "Hi {{ owner.nam }}"
            rules: [{name: a, postmortem: none}]
            """,
            "3:17: template names something that does not exist: "
            "'dict object' has no attribute 'nam'",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: required
                meeting:
                  calendar: PMs
                  deadline: {default: 2d}
                  invite: [incident_commander, responder]
            """,
            "8:36: unknown role 'responder' (allowed: acknowledgers, assignees, customer_liaison, "
            "engineering_manager, first_acknowledger, incident_commander, "
            "incident_commander_shadow, manual_trigger, owner, primary_oncall, product_manager, "
            "reporter, responders, scribe, service_owners, or an email)",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: required
                reminders:
                  - {if: overdue, every: 1 business day}
            """,
            "6:9: reminder 'overdue' needs a meeting section to count from",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: required
                meeting: {calendar: PMs, deadline: {default: 2d}, duration: 2 business days}
            """,
            "5:65: a meeting lasts minutes or hours, e.g. 30m",
        ),
        (
            """\
            version: 1
            rules:
              - name: a
                postmortem: required
              - name: a
                postmortem: none
            """,
            "5:11: rule name 'a' is already used by rules[0]",
        ),
    ],
)
def test_semantic_problems_point_at_the_spot(tmp_path: Path, text: str, expected: str) -> None:
    assert messages(tmp_path, text) == [expected]


def test_several_problems_are_all_reported_in_file_order(tmp_path: Path) -> None:
    found = messages(
        tmp_path,
        """\
        version: 2
        rules:
          - name: a
            postmortem: maybe
            extra: 1
        """,
    )
    assert [m.split(": ")[0] for m in found] == ["1:10", "4:17", "5:5"]


def test_rule_names_are_unique_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, MINIMAL, "first.yaml")
    second = write(tmp_path, "version: 1\nrules:\n  - postmortem: none\n    name: all\n", "b.yaml")
    problems = check_policy_files([first, second])
    assert [str(p) for p in problems] == [
        f"{second}:4:11: rule name 'all' is already used in {first}"
    ]
    with pytest.raises(PolicyError, match="already used"):
        load_policies([first, second])


def test_conflicting_severity_maps_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "version: 1\nseverities: {incidentio: {Major: SEV-2}}\n" + MINIMAL[11:])
    second = write(
        tmp_path,
        "version: 1\nseverities:\n  incidentio: {Major: SEV-1}\n"
        "rules: [{name: b, postmortem: none}]\n",
        "second.yaml",
    )
    problems = [str(p) for p in check_policy_files([first, second])]
    assert problems == [f"{second}:3:16: 'Major' maps to SEV-1 here but to SEV-2 in {first}"]


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    (problem,) = check_policy_files([missing])
    assert (problem.line, problem.column) == (1, 1)
    assert "cannot read policy file" in problem.message


def test_clock_times_are_not_sexagesimal_numbers() -> None:
    policy = parse_policy(
        "version: 1\ncalendar: {working_hours: {start: 08:30, end: 16:00}}\n" + MINIMAL[11:],
        "p.yaml",
    )
    assert policy.calendar.start.isoformat() == "08:30:00"


def test_json_schema_describes_the_language() -> None:
    schema = policy_json_schema()
    json.dumps(schema)  # serialisable, defaults included
    rule = schema["$defs"]["RuleSpec"]["properties"]
    assert set(rule["postmortem"]["enum"]) == {"required", "optional", "none"}
    assert "if" in schema["$defs"]["ReminderSpec"]["properties"]
    assert "not" in schema["$defs"]["Condition"]["properties"]
    assert schema["$defs"]["MeetingSpec"]["properties"]["duration"]["default"] == "30m"
    hours = schema["$defs"]["WorkingHoursSpec"]["properties"]
    assert (hours["start"]["default"], hours["end"]["default"]) == ("09:00", "17:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1:1: missing required key 'rules' at the top level"),
        (
            "- a\n- b\n",
            "1:1: the top level: Input should be a valid dictionary or instance of PolicySpec",
        ),
        (
            "version: !!python/object:os.system ls\nrules: []\n",
            "1:10: version: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'",
        ),
    ],
)
def test_odd_documents(tmp_path: Path, text: str, expected: str) -> None:
    assert messages(tmp_path, text)[0].startswith(expected)


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    found = messages(
        tmp_path,
        """\
        version: 1
        rules:
          - name: a
            postmortem: required
            follow_ups:
              labels: ["{{ incident.__class__.__mro__ }}"]
        """,
    )
    assert found == [
        "6:16: template does not render: "
        "access to attribute '__class__' of 'dict' object is unsafe."
    ]
