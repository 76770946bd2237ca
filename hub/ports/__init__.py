"""The Protocols connectors implement. The core depends on these, never on a vendor SDK.

One module per capability (incidents, notify, calendar, tracker, status page); every
method raises only `hub.errors` types. Chat is reached through `Notifier`: one method
per thing the process says, so the engine never builds a platform's messages.
"""

from hub.ports.calendar import (
    BusyInterval,
    Calendar,
    EventRef,
    EventRequest,
    FreeBusy,
    MeetingDetails,
)
from hub.ports.incidents import IncidentIoApi, JsonObject, PagerDutyApi
from hub.ports.notify import Answer, AnswerKind, Notifier
from hub.ports.statuspage import PageIncidentStatus, Publication, PublishedRef, StatusPage
from hub.ports.tracker import StatusCategory, TicketLink, TicketRef, TicketRequest, Tracker

__all__ = [
    "Answer",
    "AnswerKind",
    "BusyInterval",
    "Calendar",
    "EventRef",
    "EventRequest",
    "FreeBusy",
    "IncidentIoApi",
    "JsonObject",
    "MeetingDetails",
    "Notifier",
    "PageIncidentStatus",
    "PagerDutyApi",
    "Publication",
    "PublishedRef",
    "StatusCategory",
    "StatusPage",
    "TicketLink",
    "TicketRef",
    "TicketRequest",
    "Tracker",
]
