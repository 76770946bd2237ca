"""The Protocols connectors implement. The core depends on these, never on a vendor SDK.

One module per capability (incidents, chat, calendar, tracker, status page); every
method raises only `hub.errors` types.
"""

from hub.ports.calendar import (
    BusyInterval,
    Calendar,
    EventRef,
    EventRequest,
    FreeBusy,
    MeetingDetails,
)
from hub.ports.chat import Block, Chat, ChatMessage, MessageRef
from hub.ports.incidents import IncidentIoApi, JsonObject, PagerDutyApi
from hub.ports.statuspage import PageIncidentStatus, Publication, PublishedRef, StatusPage
from hub.ports.tracker import StatusCategory, TicketLink, TicketRef, TicketRequest, Tracker

__all__ = [
    "Block",
    "BusyInterval",
    "Calendar",
    "Chat",
    "ChatMessage",
    "EventRef",
    "EventRequest",
    "FreeBusy",
    "IncidentIoApi",
    "JsonObject",
    "MeetingDetails",
    "MessageRef",
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
