"""Canonical types shared by every layer; imports nothing else of pmhub."""

from hub.model.incident import (
    Acknowledgement,
    Incident,
    IncidentLinks,
    IncidentStatus,
    Person,
    Responder,
    RoleHolder,
    ServiceRef,
    Severity,
    Source,
    TeamRef,
    incident_id,
)

__all__ = [
    "Acknowledgement",
    "Incident",
    "IncidentLinks",
    "IncidentStatus",
    "Person",
    "Responder",
    "RoleHolder",
    "ServiceRef",
    "Severity",
    "Source",
    "TeamRef",
    "incident_id",
]

# Post-mortem and intent types (appended separately to keep concurrent edits apart).
from hub.model.intent import Intent, IntentKind
from hub.model.postmortem import (
    ExternalMessage,
    FollowUp,
    FollowUpState,
    LifecycleDecision,
    Meeting,
    Override,
    OwnerAcceptance,
    OwnerDesignation,
    PostMortem,
    PostMortemStatus,
)

__all__ += [
    "ExternalMessage",
    "FollowUp",
    "FollowUpState",
    "Intent",
    "IntentKind",
    "LifecycleDecision",
    "Meeting",
    "Override",
    "OwnerAcceptance",
    "OwnerDesignation",
    "PostMortem",
    "PostMortemStatus",
]
