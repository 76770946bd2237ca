"""Does an incident match a rule's `when`?

Every key given must hold (AND); a list holds when any of its values matches
(OR); `all`/`any`/`not` combine conditions; `{}` matches every incident.
Services and teams match by id or by name, case-insensitively, because policy
authors write names while vendors send ids. `team` also matches the pmhub team
the configuration's `teams:` mapping gives the incident (issue 15).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hub.model.incident import Incident, Source
from hub.policy.schema import Condition


def matches(condition: Condition, incident: Incident, teams: Sequence[str] = ()) -> bool:
    """`teams`: the pmhub team names the incident belongs to (from `pmhub.yaml`)."""
    checks = (
        _severity(condition, incident),
        _in(_values(condition.source), [incident.source.value]),
        _in(condition.service, _refs((s.id, s.name) for s in incident.services)),
        _in(condition.team, [*_refs((t.id, t.name) for t in incident.teams), *teams]),
        _in(condition.type, [incident.type] if incident.type else []),
        condition.false_positive is None or condition.false_positive == incident.false_positive,
        condition.full_outage is None or condition.full_outage == incident.full_outage,
        _custom_fields(condition, incident),
        condition.all_ is None or all(matches(c, incident, teams) for c in condition.all_),
        condition.any_ is None or any(matches(c, incident, teams) for c in condition.any_),
        condition.not_ is None or not matches(condition.not_, incident, teams),
    )
    return all(checks)


def _severity(condition: Condition, incident: Incident) -> bool:
    return condition.severity is None or incident.severity in condition.severity


def _values(sources: list[Source] | None) -> list[str] | None:
    return None if sources is None else [source.value for source in sources]


def _refs(pairs: Iterable[tuple[str, str | None]]) -> list[str]:
    return [value for pair in pairs for value in pair if value]


def _in(wanted: list[str] | None, present: list[str]) -> bool:
    if wanted is None:
        return True
    have = {value.casefold() for value in present}
    return any(value.casefold() in have for value in wanted)


def _custom_fields(condition: Condition, incident: Incident) -> bool:
    if condition.custom_fields is None:
        return True
    fields = {name.casefold(): value for name, value in incident.custom_fields.items()}
    return all(
        _in(values, [fields[name.casefold()]]) if name.casefold() in fields else False
        for name, values in condition.custom_fields.items()
    )
