"""Issue 13: an incident without a severity takes the policy's `severities.default`, and
`pmhub check` warns where a source can send a value nobody maps."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hub.cli import main
from hub.intake.adapters import incidentio
from hub.model.incident import Severity, Source
from hub.policy import check_policy_files, load_policies
from hub.policy.coverage import severity_warnings

from .factories import PAGERDUTY_POLICY, POSTHOG_POLICY

RULES = "rules:\n  - {name: major, when: {severity: [SEV-1, SEV-2]}, postmortem: required}\n"
CATCH_ALL_NONE = "  - {name: rest, postmortem: none}\n"


def _write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_incident_without_a_severity_gets_the_policy_default() -> None:
    """The shipped PagerDuty policy: an incident.io incident with no severity is a SEV-2."""
    mapping = load_policies([PAGERDUTY_POLICY]).severity_map()
    assert mapping.default is Severity.SEV2
    assert mapping.incident_io(None) == (Severity.SEV2, None)
    # A named value nobody maps is not "no severity": it stays unknown (and is warned of).
    assert mapping.incident_io("Apocalyptic") == (Severity.UNKNOWN, "Apocalyptic")
    update = incidentio.incident_update(
        {
            "id": "01NOSEV",
            "name": "Search slow",
            "incident_status": {"category": "learning"},
            "updated_at": "2026-11-20T10:00:00Z",
        },
        mapping,
    )
    assert update is not None
    assert update.fields["severity"] == "SEV-2"


def test_pagerduty_without_priority_or_urgency_gets_the_default() -> None:
    mapping = load_policies([PAGERDUTY_POLICY]).severity_map()
    assert mapping.pagerduty(None, None) == (Severity.SEV2, None)
    assert mapping.pagerduty(None, "medium") == (Severity.UNKNOWN, "urgency:medium")


def test_two_files_must_not_disagree_on_the_default(tmp_path: Path) -> None:
    first = _write(tmp_path, "version: 1\nseverities: {default: SEV-2}\n" + RULES, "a.yaml")
    second = _write(
        tmp_path,
        "version: 1\nseverities:\n  default: SEV-3\nrules: [{name: b, postmortem: none}]\n",
        "b.yaml",
    )
    problems = [str(p) for p in check_policy_files([first, second])]
    assert problems == [f"{second}:2:1: severities.default is SEV-3 here but SEV-2 in {first}"]


def test_check_warns_when_a_source_can_produce_an_unmapped_severity(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\nseverities:\n  incidentio: {Critical: SEV-1, Major: SEV-2}\n"
        + RULES
        + CATCH_ALL_NONE,
    )
    policies = load_policies([path])
    warnings = [str(w) for w in severity_warnings(policies, [Source.INCIDENTIO])]
    assert warnings == [
        f"{path}:2:1: warning: incident.io sends Minor (its default names), which no "
        "`severities.incidentio` entry maps: such an incident is 'unknown' and rule 'rest' "
        "takes it (postmortem: none)",
        f"{path}:2:1: warning: an incident.io incident without a severity is 'unknown' and "
        "rule 'rest' takes it (postmortem: none); set `severities.default`",
    ]
    # PagerDuty's default priorities map by their SEV-like names only when written down.
    assert severity_warnings(policies, [Source.PAGERDUTY]) == []

    # `pmhub policy check` says so, and still passes.
    result = CliRunner().invoke(main, ["policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: incident.io sends Minor" in result.output


def test_no_warning_when_an_unknown_severity_still_gets_a_post_mortem() -> None:
    """PostHog's catch-all `posthog-minor` requires one: nothing would be missed."""
    policies = load_policies([POSTHOG_POLICY])
    assert severity_warnings(policies, list(Source)) == []
    assert severity_warnings(load_policies([PAGERDUTY_POLICY]), list(Source)) == []
