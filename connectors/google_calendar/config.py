"""Google Calendar settings: the model of `connectors.google_calendar` in pmhub.yaml."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from connectors.common.google import ServiceAccountKey
from connectors.common.settings import FieldProblem, HttpUrlStr, NonEmptyStr, VendorSettings

GOOGLE_ROOT_URL = "https://www.googleapis.com/"
# The narrowest scopes that cover events.insert/get/patch on the shared calendar and
# freebusy.query over colleagues' calendars. With domain-wide delegation the Workspace
# admin authorises exactly these strings for the service account's client id.
DEFAULT_SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.events.freebusy",
)


class GoogleCalendarConfig(VendorSettings):
    calendar_id: NonEmptyStr = Field(
        description="The shared post-mortem calendar, e.g. 'c_0a1b...@group.calendar.google.com'.",
    )
    credentials_file: ServiceAccountKey | None = Field(
        default=None,
        description="Service-account key (JSON) with domain-wide delegation; relative to "
        "pmhub.yaml.",
    )
    subject: str | None = Field(
        default=None,
        description="The Workspace user pmhub acts as: the meetings' organizer. "
        "Needs write access to `calendar_id`.",
    )
    scopes: tuple[NonEmptyStr, ...] = Field(
        default=DEFAULT_SCOPES,
        min_length=1,
        description="OAuth scopes asked for; the Workspace admin authorises exactly these.",
    )
    root_url: HttpUrlStr = Field(
        default=GOOGLE_ROOT_URL,
        description="Google's API root. Tests and the demo point it at the fake; "
        "then no credentials are needed.",
    )
    conference: bool = Field(default=False, description="Add a Google Meet link to each meeting.")
    min_notice_minutes: int = Field(
        default=120, ge=0, description="The soonest a meeting may start after it is booked."
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Per socket operation.")
    max_concurrency: int = Field(
        default=4, ge=1, le=32, description="Worker threads (each with its own connection)."
    )

    @field_validator("root_url")
    @classmethod
    def _root_url(cls, value: str) -> str:
        # The client joins "calendar/v3/" onto it; without the slash urljoin would
        # replace the last path segment instead.
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _credentials(self) -> GoogleCalendarConfig:
        if self.talks_to_google and (self.credentials_file is None or not self.subject):
            missing = "credentials_file" if self.credentials_file is None else "subject"
            raise FieldProblem(
                missing,
                "Google Calendar needs credentials_file and subject (domain-wide delegation);"
                " only a fake at another root_url needs neither",
            )
        if (self.credentials_file is None) != (not self.subject):
            present = "subject" if self.subject else "credentials_file"
            raise FieldProblem(present, "credentials_file and subject go together")
        return self

    @property
    def talks_to_google(self) -> bool:
        return self.root_url.rstrip("/") == GOOGLE_ROOT_URL.rstrip("/")

    @property
    def anonymous(self) -> bool:
        """No credentials: only for a fake (or a test double) at a custom root_url."""
        return self.credentials_file is None
