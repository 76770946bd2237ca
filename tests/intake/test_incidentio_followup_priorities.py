"""incident.io follow-up priorities (names each organisation chooses) become P0..P3.

The vendor's own example payloads are parsed; the map comes from
`sources.incidentio.followup_priorities`, validated like every setting, and reaches
the adapter through the daemon's wiring (`hub.app.adapter_options`).
"""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hub.app import adapter_options
from hub.config import ConfigError, settings_from_text
from hub.intake.adapters import AdapterOptions, IncidentIoOptions, parse_delivery
from hub.model.followup_event import FollowUpFact, FollowUpPriority, follow_up_priority
from hub.policy import load_policies

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "incidentio_webhook_examples"
POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
CREATED_V2 = "public_incident.follow_up_created_v2"


def example(name: str, priority: str | None = "Urgent") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    if priority is None:
        document[name].pop("priority", None)
    elif "priority" in document[name]:
        document[name]["priority"]["name"] = priority
    return document


def fact_of(document: dict[str, Any], options: AdapterOptions | None = None) -> FollowUpFact:
    [fact] = parse_delivery("incidentio", json.dumps(document).encode(), options)
    assert isinstance(fact, FollowUpFact)
    return fact


def test_the_vendor_example_maps_urgent_to_p0_and_keeps_the_name() -> None:
    fact = fact_of(example(CREATED_V2))  # as incident.io sent it
    assert (fact.priority, fact.priority_source) == ("P0", "Urgent")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Urgent", "P0"),
        ("High", "P1"),
        ("medium", "P2"),
        ("  LOW ", "P3"),
        ("P2", "P2"),  # already ours
        ("p1", "P1"),
        ("Nice to have", "Nice to have"),  # unknown: kept, so the policy flags it
    ],
)
def test_default_names(name: str, expected: str) -> None:
    fact = fact_of(example(CREATED_V2, name))
    assert fact.priority == expected
    assert fact.priority_source == name.strip()


def test_follow_ups_without_a_priority_have_none() -> None:
    assert fact_of(example(CREATED_V2, None)).priority is None
    v1 = fact_of(example("public_incident.follow_up_created_v1"))  # v1 has no priority
    assert (v1.priority, v1.priority_source) == (None, None)


def test_an_organisations_own_names_replace_the_defaults() -> None:
    table: dict[str, FollowUpPriority] = {"Drop everything": "P0", "This quarter": "P2"}
    options = AdapterOptions(incidentio=IncidentIoOptions(follow_up_priorities=table))
    assert fact_of(example(CREATED_V2, "drop  everything"), options).priority == "P0"
    assert fact_of(example(CREATED_V2, "This quarter"), options).priority == "P2"
    assert fact_of(example(CREATED_V2, "P3"), options).priority == "P3"
    assert fact_of(example(CREATED_V2, "Urgent"), options).priority == "Urgent"  # not theirs


def test_the_table_wins_over_a_p_name() -> None:
    assert follow_up_priority("P1", {"P1": "P0"}) == "P0"
    assert follow_up_priority("   ") is None


def config_text(priorities: str) -> str:
    return textwrap.dedent(
        """\
        sources:
          incidentio:
            webhook_secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]
        """
    ) + textwrap.indent(priorities, "    ")


def test_the_setting_reaches_the_adapter(tmp_path: Path) -> None:
    text = config_text("followup_priorities:\n  Critical fix: P0\n  Backlog: P3\n")
    settings = settings_from_text(text, path=tmp_path / "pmhub.yaml", env={})
    options = adapter_options(load_policies([POLICY]), settings)
    document = example(CREATED_V2, "Backlog")
    assert fact_of(document, options).priority == "P3"
    assert fact_of(copy.deepcopy(document), adapter_options(load_policies([POLICY]))).priority == (
        "Backlog"
    )


def test_defaults_apply_when_the_setting_is_absent(tmp_path: Path) -> None:
    settings = settings_from_text(config_text(""), path=tmp_path / "pmhub.yaml", env={})
    assert settings.sources.incidentio is not None
    assert settings.sources.incidentio.followup_priorities == {
        "Urgent": "P0",
        "High": "P1",
        "Medium": "P2",
        "Low": "P3",
    }


@pytest.mark.parametrize(
    ("priorities", "expected"),
    [
        (
            "followup_priorities:\n  Urgent: P0\n  Someday: P4\n",
            "pmhub.yaml:6:16: sources.incidentio.followup_priorities.Someday: 'P4' is not"
            " allowed (allowed: P0, P1, P2, P3)",
        ),
        (
            "followup_priorities:\n  High: P1\n  high: P2\n",
            "pmhub.yaml:4:5: sources.incidentio.followup_priorities: 'High' and 'high' are the"
            " same name (case and spacing are ignored); keep one",
        ),
        (
            "followup_priorities: [P0, P1]\n",
            "pmhub.yaml:4:26: sources.incidentio.followup_priorities: expected a mapping, got a"
            " list",
        ),
    ],
)
def test_check_reports_the_spot_and_what_is_allowed(
    priorities: str, expected: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_text(config_text(priorities), path=tmp_path / "pmhub.yaml", env={})
    assert [str(p).removeprefix(f"{tmp_path}/") for p in caught.value.problems] == [expected]
