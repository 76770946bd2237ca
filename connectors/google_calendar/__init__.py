"""Google Calendar: the post-mortem meeting on the shared calendar.

config.py settings · client.py `google-api-python-client` made async, errors mapped ·
connector.py `hub.ports.Calendar` (event id from the effect key) · agenda.py the
description · fake/ a Calendar v3 double.

Error mapping (client.py): 401 -> AuthFailed; 403 rateLimitExceeded/userRateLimitExceeded/
quotaExceeded/dailyLimitExceeded and 429 -> RateLimited (Retry-After when sent); 403
forbidden/requiredAccessLevel/insufficientPermissions/accessNotConfigured/
forbiddenForServiceAccounts -> AuthFailed (pmhub's identity cannot write the shared
calendar: every job would fail alike, so pause and alert); other 403 -> Permanent;
404, 410 -> Permanent (`NotFound`; `get_event` answers None); 409 -> Conflict, which
`create_event` resolves by reading the event; 408, 412 (If-Match lost to a human's
edit), 5xx, timeouts, connection errors -> Transient; other 4xx -> Permanent.
"""

from connectors.google_calendar.config import GoogleCalendarConfig
from connectors.google_calendar.connector import GoogleCalendarConnector, event_id_for

__all__ = ["GoogleCalendarConfig", "GoogleCalendarConnector", "event_id_for"]
