"""`sources:` what each incident tool needs so its webhooks can be trusted."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, model_validator

from hub.config.connectors import ExistingFile
from hub.config.types import FieldProblem, FrozenModel, HttpUrlStr, Secret, SectionsModel
from hub.model.followup_event import DEFAULT_FOLLOW_UP_PRIORITIES, FollowUpPriority


def _check_email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain) or any(ch.isspace() for ch in value):
        raise ValueError("expected an email address")
    return value


Email = Annotated[str, AfterValidator(_check_email)]


def _check_svix_secret(secret: SecretStr) -> SecretStr:
    # incident.io signs with Svix, whose secrets look like `whsec_<base64>`;
    # anything else is most likely the API key pasted into the wrong field.
    if not secret.get_secret_value().startswith("whsec_"):
        raise ValueError("must be the webhook signing secret, which starts with 'whsec_'")
    return secret


SvixSecret = Annotated[Secret, AfterValidator(_check_svix_secret)]


class PagerDutySource(FrozenModel):
    webhook_secrets: Annotated[list[Secret], Field(min_length=1)] = Field(
        description="V3 webhook signing secrets; list the new one next to the old while rotating."
    )
    api_token: Secret | None = Field(default=None, description="REST API token (notes, lookups).")
    base_url: HttpUrlStr = "https://api.pagerduty.com"
    from_email: Email | None = Field(
        default=None, description="A PagerDuty user's email, sent as From: on writes."
    )
    ca_bundle: ExistingFile | None = Field(
        default=None,
        description="Extra CA certificates (PEM) to trust for the REST API: a TLS-inspecting "
        "proxy, or the sandbox's fake.",
    )


class IncidentIoSource(FrozenModel):
    webhook_secrets: Annotated[list[SvixSecret], Field(min_length=1)] = Field(
        description="Svix signing secrets (whsec_...); several during rotation."
    )
    api_key: Secret | None = Field(
        default=None, description="API key used to re-fetch incidents (deliveries are unordered)."
    )
    base_url: HttpUrlStr = "https://api.incident.io"
    followup_priorities: dict[str, FollowUpPriority] = Field(
        default_factory=lambda: dict(DEFAULT_FOLLOW_UP_PRIORITIES),
        description=(
            "Your organisation's follow-up priority names -> P0..P3 (replaces the default"
            " map entirely). Names are compared ignoring case and spacing; P0..P3 pass"
            " through; any other name is kept and the policy flags the follow-up."
        ),
    )

    @model_validator(mode="after")
    def _distinct_priority_names(self) -> IncidentIoSource:
        seen: dict[str, str] = {}
        for name in self.followup_priorities:
            folded = " ".join(name.split()).casefold()
            if not folded:
                raise FieldProblem("followup_priorities", "a priority name must not be blank")
            if folded in seen:
                raise FieldProblem(
                    "followup_priorities",
                    f"{seen[folded]!r} and {name!r} are the same name (case and spacing"
                    " are ignored); keep one",
                )
            seen[folded] = name
        return self


class SlackSource(FrozenModel):
    signing_secret: Secret = Field(
        description="Slack app signing secret (slash commands, buttons)."
    )


class JiraSource(FrozenModel):
    webhook_secret: Secret = Field(description="Secret of the Jira webhook (HMAC signature).")


class SourcesSettings(SectionsModel):
    """Each source is off unless its section is present."""

    pagerduty: PagerDutySource | None = None
    incidentio: IncidentIoSource | None = None
    slack: SlackSource | None = None
    jira: JiraSource | None = None
