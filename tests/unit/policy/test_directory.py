"""Who holds a role: incident people, vendor roles, then directory by service, team, default."""

from __future__ import annotations

from hub.model.incident import Person, RoleHolder, ServiceRef, TeamRef
from hub.policy.directory import normalise, resolve_invitees, resolve_role
from hub.policy.schema import DirectorySpec

from .factories import IC, RESPONDER, incident

DIRECTORY = DirectorySpec.model_validate(
    {
        "vendor_roles": {"engineering_manager": ["Team Manager"]},
        "default": {"product_manager": ["pm@example.com"], "service_owners": ["sre@example.com"]},
        "services": {
            "API": {"service_owners": ["api@example.com"]},
            "PSVC2": {"service_owners": ["web@example.com", "api@example.com"]},
        },
        "teams": {"payments": {"engineering_manager": ["pay-em@example.com"]}},
    }
)


def emails(people: tuple[Person, ...]) -> list[str | None]:
    return [person.email for person in people]


def test_incident_people_first() -> None:
    assert resolve_role("incident_commander", incident(), DIRECTORY, None) == (IC,)
    assert resolve_role("responders", incident(), DIRECTORY, None) == (RESPONDER,)
    assert resolve_role("owner", incident(), DIRECTORY, IC) == (IC,)


def test_services_are_merged_then_teams_then_default() -> None:
    two = incident(services=(ServiceRef(id="PSVC1", name="api"), ServiceRef(id="PSVC2")))
    assert emails(resolve_role("service_owners", two, DIRECTORY, None)) == [
        "api@example.com",
        "web@example.com",
        "api@example.com",  # duplicates are removed when invitees are collected
    ]
    other = incident(services=(ServiceRef(id="PX"),))
    assert emails(resolve_role("service_owners", other, DIRECTORY, None)) == ["sre@example.com"]
    team = incident(teams=(TeamRef(id="PT9", name="Payments"),))
    assert emails(resolve_role("engineering_manager", team, DIRECTORY, None)) == [
        "pay-em@example.com"
    ]


def test_vendor_roles_fill_in_before_the_directory() -> None:
    manager = Person(email="vendor-em@example.com")
    inc = incident(
        teams=(TeamRef(id="PT9", name="Payments"),),
        roles=(RoleHolder(role="Team Manager", person=manager),),
    )
    assert resolve_role("engineering_manager", inc, DIRECTORY, None) == (manager,)


def test_unknown_role_resolves_to_nobody_and_is_reported() -> None:
    invitees = resolve_invitees(
        ["customer_liaison", "service_owners", "api@example.com"],
        incident(),
        DIRECTORY,
        IC,
        observers=["watch@example.com"],
    )
    assert invitees.emails == (
        "ic@example.com",
        "api@example.com",
        "watch@example.com",
    )
    assert invitees.unresolved_roles == ("customer_liaison",)


def test_normalise() -> None:
    assert normalise("Incident Lead") == "incident_lead"
    assert normalise(" Comms-Lead ") == "comms_lead"
