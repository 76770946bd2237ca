"""The Protocols connectors implement. The core depends on these, never on a vendor SDK.

One module per capability (incidents, notify, calendar, tracker, status page, documents,
mail, incident history); every method raises only `hub.errors` types. Chat is reached
through `Notifier`: one method per thing the process says, so the engine never builds a
platform's messages.
"""

from hub.ports.calendar import (
    BusyInterval,
    Calendar,
    EventRef,
    EventRequest,
    FreeBusy,
    MeetingDetails,
)
from hub.ports.documents import (
    DocumentFormat,
    DocumentRef,
    DocumentRequest,
    Documents,
    DocumentSection,
    DocumentSnapshot,
    DraftOutcome,
    DraftUpdate,
    section_name,
)
from hub.ports.history import (
    Actor,
    ChannelHistory,
    EntryKind,
    HistoryEntry,
    HistoryRead,
    HistorySource,
    IncidentLog,
)
from hub.ports.incidents import IncidentIoApi, JsonObject, PagerDutyApi
from hub.ports.mail import Mailer, MailMessage, SentMail
from hub.ports.notify import Answer, AnswerKind, Notifier
from hub.ports.statuspage import PageIncidentStatus, Publication, PublishedRef, StatusPage
from hub.ports.tracker import StatusCategory, TicketLink, TicketRef, TicketRequest, Tracker

__all__ = [
    "Actor",
    "Answer",
    "AnswerKind",
    "BusyInterval",
    "Calendar",
    "ChannelHistory",
    "DocumentFormat",
    "DocumentRef",
    "DocumentRequest",
    "DocumentSection",
    "DocumentSnapshot",
    "Documents",
    "DraftOutcome",
    "DraftUpdate",
    "EntryKind",
    "EventRef",
    "EventRequest",
    "FreeBusy",
    "HistoryEntry",
    "HistoryRead",
    "HistorySource",
    "IncidentIoApi",
    "IncidentLog",
    "JsonObject",
    "MailMessage",
    "Mailer",
    "MeetingDetails",
    "Notifier",
    "PageIncidentStatus",
    "PagerDutyApi",
    "Publication",
    "PublishedRef",
    "SentMail",
    "StatusCategory",
    "StatusPage",
    "TicketLink",
    "TicketRef",
    "TicketRequest",
    "Tracker",
    "section_name",
]
