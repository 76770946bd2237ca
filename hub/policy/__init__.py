"""The policy engine: pure decisions about post-mortems (no I/O, no clock; `now` is an argument).

Loading (`load_policies`, `check_policy_files`) is the one place that reads
files; everything else computes.
"""

from hub.policy.calendar import WorkCalendar
from hub.policy.deadlines import Slot, candidate_slots, shift, shift_back
from hub.policy.durations import BusinessDays, CalendarDays, Duration, Elapsed, parse_duration
from hub.policy.engine import evaluate
from hub.policy.errors import PolicyError, Problem
from hub.policy.lifecycle import TransitionResult, close_as_not_needed, transition
from hub.policy.loader import check_policy_files, check_policy_text, load_policies, parse_policy
from hub.policy.plan import MeetingPlan, OwnerChoice, Plan, plan_to_json
from hub.policy.policyset import Policy, PolicySet
from hub.policy.schema import policy_json_schema
from hub.policy.wording import lint_external_message

__all__ = [
    "BusinessDays",
    "CalendarDays",
    "Duration",
    "Elapsed",
    "MeetingPlan",
    "OwnerChoice",
    "Plan",
    "Policy",
    "PolicyError",
    "PolicySet",
    "Problem",
    "Slot",
    "TransitionResult",
    "WorkCalendar",
    "candidate_slots",
    "check_policy_files",
    "check_policy_text",
    "close_as_not_needed",
    "evaluate",
    "lint_external_message",
    "load_policies",
    "parse_duration",
    "parse_policy",
    "plan_to_json",
    "policy_json_schema",
    "shift",
    "shift_back",
    "transition",
]
