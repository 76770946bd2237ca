"""`sources:` what each incident tool needs so its webhooks can be trusted.

A source's REST settings (the API token, base_url, ...) are the connector's own model
(`connectors/<vendor>/config.py`), extended here with what intake needs: what
`pmhub check` accepts is what the connector is built with.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, model_validator

from connectors.incidentio.config import IncidentIoApi
from connectors.pagerduty.config import PagerDutyApi
from hub.config.types import FieldProblem, FrozenModel, Secret, SectionsModel
from hub.model.followup_event import DEFAULT_FOLLOW_UP_PRIORITIES, FollowUpPriority


def _check_svix_secret(secret: SecretStr) -> SecretStr:
    # incident.io signs with Svix, whose secrets look like `whsec_<base64>`;
    # anything else is most likely the API key pasted into the wrong field.
    value = secret.get_secret_value()
    if not value.startswith("whsec_"):
        raise ValueError("must be the webhook signing secret, which starts with 'whsec_'")
    # Decoded as the verifier decodes it (hub/intake/verifiers.py): a secret `check`
    # accepts is one `serve` can sign with.
    try:
        base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise ValueError(
            "must be the webhook signing secret as incident.io shows it: whsec_ then base64"
        ) from None
    return secret


SvixSecret = Annotated[Secret, AfterValidator(_check_svix_secret)]


class PagerDutySource(PagerDutyApi):
    webhook_secrets: Annotated[list[Secret], Field(min_length=1)] = Field(
        description="V3 webhook signing secrets; list the new one next to the old while rotating."
    )


class IncidentIoSource(IncidentIoApi):
    webhook_secrets: Annotated[list[SvixSecret], Field(min_length=1)] = Field(
        description="Svix signing secrets (whsec_...); several during rotation."
    )
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
