"""The hand-off modal: its snapshots and Slack's view limits (the builder, pure).

Snapshots live in `snapshots/modals/<case>.json` (apart from the messages', whose
test requires one case per file in `snapshots/`). After an intended change of
wording or layout, regenerate them and review the diff::

    PMHUB_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/connectors/slack/test_handoff_modal.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.slack.blocks import Block
from connectors.slack.fake.views import view_problems
from connectors.slack.modals import PRIVATE_METADATA_MAX, handoff_modal
from hub.model.command import (
    HANDOFF_FORM,
    HANDOFF_OWNER_ACTION,
    HANDOFF_OWNER_BLOCK,
    HANDOFF_REASON_ACTION,
    HANDOFF_REASON_BLOCK,
    HANDOFF_REASON_MAX,
    HandoffContext,
)
from hub.model.incident import Incident, IncidentLinks, Person, Severity, Source

SNAPSHOTS = Path(__file__).parent / "snapshots" / "modals"
UPDATE = os.environ.get("PMHUB_UPDATE_SNAPSHOTS") == "1"

INCIDENT = Incident(
    id="pagerduty:PGR0VU2",
    source=Source.PAGERDUTY,
    source_id="PGR0VU2",
    reference="PD-1042",
    title="Checkout <API> errors & timeouts",
    severity=Severity.SEV1,
    links=IncidentLinks(vendor_url="https://acme.pagerduty.com/incidents/PGR0VU2"),
)
ALICE = Person(name="Alice Adams", email="alice@example.com", slack_id="U0ALICE001")
CAROL = Person(name="Carol Chen", email="carol@example.com")  # no Slack id known
PRESSED = HandoffContext(
    incident_id=INCIDENT.id,
    response_url="https://hooks.slack.com/actions/T0PMHUB001/1234/abcdef",
    channel_id="D0ALICE0101",
)

CASES: dict[str, Callable[[], Block]] = {
    "handoff_modal": lambda: handoff_modal(INCIDENT, ALICE, PRESSED),
    "handoff_modal_owner_without_slack": lambda: handoff_modal(INCIDENT, CAROL, PRESSED),
    "handoff_modal_nobody_owns_it": lambda: handoff_modal(
        INCIDENT, None, HandoffContext(incident_id=INCIDENT.id)
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_snapshot(case: str) -> None:
    rendered = json.dumps(CASES[case](), indent=2, ensure_ascii=False) + "\n"
    path = SNAPSHOTS / f"{case}.json"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no snapshot for {case}: run with PMHUB_UPDATE_SNAPSHOTS=1"
    assert rendered == path.read_text(encoding="utf-8")


def test_every_snapshot_has_a_case() -> None:
    assert {path.stem for path in SNAPSHOTS.glob("*.json")} == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_modal_is_a_view_slack_accepts(case: str) -> None:
    assert view_problems(CASES[case]()) == []


def _inputs(view: Block) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


def test_the_form_asks_for_a_person_and_an_optional_reason() -> None:
    view = handoff_modal(INCIDENT, ALICE, PRESSED)
    assert view["callback_id"] == HANDOFF_FORM
    inputs = _inputs(view)
    assert set(inputs) == {HANDOFF_OWNER_BLOCK, HANDOFF_REASON_BLOCK}
    owner, reason = inputs[HANDOFF_OWNER_BLOCK], inputs[HANDOFF_REASON_BLOCK]
    # Slack offers only real people in a users_select, and will not submit it empty.
    assert owner["element"]["type"] == "users_select"
    assert owner["element"]["action_id"] == HANDOFF_OWNER_ACTION
    assert owner["optional"] is False
    assert "initial_user" not in owner["element"], "the new owner is a choice, never a default"
    assert reason["element"]["type"] == "plain_text_input"
    assert reason["element"]["action_id"] == HANDOFF_REASON_ACTION
    assert reason["optional"] is True
    assert reason["element"]["max_length"] == HANDOFF_REASON_MAX


def test_the_form_names_the_incident_and_its_owner_escaped() -> None:
    shown = json.dumps(handoff_modal(INCIDENT, ALICE, PRESSED)["blocks"])
    assert "<https://acme.pagerduty.com/incidents/PGR0VU2|PD-1042>" in shown
    assert "Checkout &lt;API&gt; errors &amp; timeouts" in shown
    assert "<@U0ALICE001>" in shown
    assert "not blame" in shown
    # Nobody is looked up to open it in time: someone without a known Slack id is named.
    assert "Carol Chen" in json.dumps(handoff_modal(INCIDENT, CAROL, PRESSED)["blocks"])
    assert "Nobody owns it yet" in json.dumps(handoff_modal(INCIDENT, None, PRESSED)["blocks"])


def test_the_press_travels_in_private_metadata() -> None:
    view = handoff_modal(INCIDENT, ALICE, PRESSED)
    assert HandoffContext.decode(view["private_metadata"]) == PRESSED


def test_a_response_url_too_long_for_slack_is_dropped_not_the_form() -> None:
    huge = PRESSED.model_copy(update={"response_url": "https://hooks.slack.com/" + "x" * 3000})
    view = handoff_modal(INCIDENT, ALICE, huge)
    assert len(view["private_metadata"]) <= PRIVATE_METADATA_MAX
    kept = HandoffContext.decode(view["private_metadata"])
    assert kept == PRESSED.model_copy(update={"response_url": None})
    assert view_problems(view) == []


def test_a_title_long_enough_to_break_slacks_limits_is_clipped() -> None:
    long = INCIDENT.model_copy(update={"title": "very long title " * 500})
    assert view_problems(handoff_modal(long, ALICE, PRESSED)) == []


def test_the_checker_refuses_what_slack_refuses() -> None:
    view = handoff_modal(INCIDENT, ALICE, PRESSED)
    broken = {
        **view,
        "title": {"type": "plain_text", "text": "A title far longer than Slack allows"},
        "blocks": [*view["blocks"], dict(view["blocks"][2])],  # a duplicate block_id
    }
    del broken["submit"]
    problems = view_problems(broken)
    assert "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]" in problems
    assert any("duplicate block_id" in p for p in problems)
    assert any(p.startswith("[ERROR] must define submit to use input block") for p in problems)
    assert view_problems([]) == ["[ERROR] must be an object [json-pointer:/view]"]
