"""Routing per team (issue 15): which team an incident is, and where each of its effects goes.

Pure: the configuration's `teams:` mapping and the policy's `targets:` folded into one
route, carried by the payloads. An installation that routes nothing keeps its payloads
(and so its fingerprints) as they were: tests/unit/test_intent_fingerprints.py pins that.
"""

from __future__ import annotations

import textwrap

from hub.model.incident import ServiceRef, Severity, TeamRef
from hub.model.intent import (
    AnnounceOwner,
    CreateDocument,
    EmailResults,
    FileFollowUp,
    IntentKind,
    NotifyOwner,
    PublishExternalMessage,
    RequestReview,
    ScheduleMeeting,
)
from hub.model.postmortem import ExternalMessage, FollowUp, PostMortemStatus
from hub.model.routing import Route, StatusPageRoute, TrackerRoute
from hub.policy import PolicySet, parse_policy
from hub.policy.teams import TeamSpec, resolve_route

from .factories import ALICE, incident, meeting, ny, plan_for, postmortem

POLICY = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
targets:
  jira: {issue_type: Bug}
  teams:
    search: {slack: {channel: C0SEARCH1}}
rules:
  - name: sev1
    when: {severity: SEV-1}
    postmortem: required
    targets: {slack: {channel: C0MAJOR01}}
    meeting: {calendar: PMs, deadline: {default: 3 calendar days}}
  - name: search-only
    when: {team: search, severity: SEV-3}
    postmortem: required
  - name: others
    postmortem: required
    meeting: {calendar: PMs, deadline: {default: 5 business days}}
    review: {share_before_meeting: 24h}
    external_message: {required_for: [SEV-2]}
    follow_ups: {priorities: [P0, P1]}
"""
TEAMS = {
    "checkout": TeamSpec.model_validate(
        {
            "when": {"service": ["Checkout API"]},
            "targets": {
                "slack": {"channel": "C0CHKOUT1", "review_channel": "C0CHKREV1"},
                "calendar": {"id": "checkout@group.calendar.google.com"},
                "jira": {"project": "CHK", "components": ["Checkout"]},
                "statuspage": {"page_id": "chkpage", "components": ["cmp1"]},
            },
        }
    ),
    "search": TeamSpec.model_validate(
        {
            "when": {"any": [{"team": ["Search"]}, {"custom_fields": {"Team": ["Search"]}}]},
            "targets": {"slack": {"channel": "C0SRCHDEF"}, "jira": {"project": "SRCH"}},
        }
    ),
}


def _policies() -> PolicySet:
    return PolicySet((parse_policy(textwrap.dedent(POLICY), "teams.yaml"),), TEAMS)


CHECKOUT = incident(services=(ServiceRef(id="PCHK", name="Checkout API"),))
SEARCH = incident(
    id="pagerduty:P2", source_id="P2", services=(), teams=(TeamRef(id="PT1", name="Search"),)
)
NOBODY = incident(id="pagerduty:P3", source_id="P3", services=(ServiceRef(id="PX", name="X"),))


def test_the_first_team_whose_when_matches_owns_the_incident() -> None:
    policies = _policies()
    assert policies.team_of(CHECKOUT) == "checkout"
    assert policies.team_of(SEARCH) == "search"
    by_field = incident(services=(), custom_fields={"Team": "search"})
    assert policies.team_of(by_field) == "search"
    assert policies.team_of(NOBODY) is None


def test_a_rule_can_match_on_the_team_the_mapping_gives() -> None:
    policies = _policies()
    sev3 = SEARCH.model_copy(update={"severity": Severity.SEV3})
    assert plan_for(sev3, policies=policies).rule == "search-only"
    other = NOBODY.model_copy(update={"severity": Severity.SEV3})
    assert plan_for(other, policies=policies).rule == "others"


def test_targets_fold_field_by_field_most_specific_first() -> None:
    policies = _policies()
    policy = policies.policies[0]
    sev1_rule, others = policy.spec.rules[0], policy.spec.rules[2]
    # The team's own targets, the policy's issue type over them.
    assert resolve_route(
        "checkout", rule=others.targets, policy=policy.spec.targets, teams=TEAMS
    ) == Route(
        team="checkout",
        channel="C0CHKOUT1",
        review_channel="C0CHKREV1",
        calendar_id="checkout@group.calendar.google.com",
        tracker=TrackerRoute(project="CHK", issue_type="Bug", components=("Checkout",)),
        status_page=StatusPageRoute(page_id="chkpage", component_ids=("cmp1",)),
    )
    # The policy's per-team channel beats the team's default; the rule's beats both.
    search = resolve_route("search", rule=others.targets, policy=policy.spec.targets, teams=TEAMS)
    assert (search.channel, search.review_channel) == ("C0SEARCH1", "C0SEARCH1")
    assert search.tracker == TrackerRoute(project="SRCH", issue_type="Bug")
    major = resolve_route("search", rule=sev1_rule.targets, policy=policy.spec.targets, teams=TEAMS)
    assert major.channel == "C0MAJOR01"
    # No team: only what the policy says for everyone.
    assert resolve_route(None, rule=None, policy=None, teams=TEAMS) == Route()


def test_each_payload_carries_the_target_its_effect_needs() -> None:
    policies = _policies()
    items = (FollowUp(id="1", summary="Alert", priority="P1", owner=ALICE),)
    pm = postmortem(
        meeting=meeting(ny(2026, 3, 4, 11)),
        follow_ups=items,
        status=PostMortemStatus.REVIEWED,
        external_message=ExternalMessage(body="Checkout was slow for 20 minutes."),
    )
    plan = plan_for(CHECKOUT, pm, now=ny(2026, 3, 4, 12), policies=policies)
    assert plan.team == "checkout"
    by_kind = {type(intent.payload): intent.payload for intent in plan.intents}
    announce, dm = by_kind[AnnounceOwner], by_kind[NotifyOwner]
    assert isinstance(announce, AnnounceOwner)
    assert announce.channel == "C0CHKOUT1"
    assert isinstance(dm, NotifyOwner)
    assert dm.channel == "C0CHKOUT1"  # where an owner Slack does not know is named
    ticket = by_kind[FileFollowUp]
    assert isinstance(ticket, FileFollowUp)
    assert ticket.tracker == TrackerRoute(project="CHK", issue_type="Bug", components=("Checkout",))
    published = by_kind[PublishExternalMessage]
    assert isinstance(published, PublishExternalMessage)
    assert published.status_page == StatusPageRoute(page_id="chkpage", component_ids=("cmp1",))
    booking = plan_for(CHECKOUT, policies=policies).intent_of(IntentKind.SCHEDULE_MEETING)
    assert booking is not None
    assert isinstance(booking.payload, ScheduleMeeting)
    assert booking.payload.calendar_id == "checkout@group.calendar.google.com"


def test_a_review_request_goes_to_the_teams_review_channel() -> None:
    pm = postmortem(meeting=meeting(ny(2026, 3, 5, 11)), document_url="https://docs/pm")
    plan = plan_for(CHECKOUT, pm, now=ny(2026, 3, 4, 12), policies=_policies())
    reviews = [i.payload for i in plan.intents if isinstance(i.payload, RequestReview)]
    assert [r.channel for r in reviews] == ["C0CHKREV1"]


def test_an_incident_no_team_claims_is_routed_nowhere_new() -> None:
    policies = _policies()
    routed = plan_for(NOBODY, policies=policies)
    plain = plan_for(NOBODY, policies=PolicySet(policies.policies))
    assert routed.team is None
    # The policy-wide issue type still applies; nothing else is set.
    for a, b in zip(routed.intents, plain.intents, strict=True):
        if isinstance(a.payload, AnnounceOwner):
            assert a.payload.channel is None
        if not isinstance(a.payload, FileFollowUp):
            assert a.fingerprint() == b.fingerprint()


DOCUMENT_POLICY = """\
version: 1
targets:
  teams:
    search:
      document: {repository: acme/search-incidents}
      email: {stakeholders: [search-leads@example.com]}
rules:
  - name: major
    postmortem: required
    owner: [incident_commander]
    document: {tool: github, template: posthog, repository: acme/incidents, folder: analyses}
    results_email: {when: closed, to: [all@example.com]}
"""


def test_the_document_and_the_results_email_go_where_the_team_wants() -> None:
    policies = PolicySet((parse_policy(DOCUMENT_POLICY, "docs.yaml"),), TEAMS)
    closed = postmortem(status=PostMortemStatus.CLOSED, status_changed_at=ny(2026, 3, 5, 9))
    search = plan_for(SEARCH, closed, now=ny(2026, 3, 5, 10), policies=policies)
    email = search.intent_of(IntentKind.EMAIL_RESULTS)
    assert email is not None
    assert isinstance(email.payload, EmailResults)
    assert email.payload.recipients == ("all@example.com", "search-leads@example.com")
    fresh = plan_for(SEARCH, None, policies=policies).intent_of(IntentKind.CREATE_DOCUMENT)
    assert fresh is not None
    assert isinstance(fresh.payload, CreateDocument)
    # The team's repository; the rule's folder in it, which the team did not name.
    assert fresh.payload.location == "acme/search-incidents:analyses"
    # Another team's incident keeps the rule's.
    other = plan_for(NOBODY, None, policies=policies).intent_of(IntentKind.CREATE_DOCUMENT)
    assert other is not None
    assert isinstance(other.payload, CreateDocument)
    assert other.payload.location == "acme/incidents:analyses"
