"""Lint for the customer-facing external message (seed 004).

* Not empty, and within the status page's bounds. Statuspage's OpenAPI document
  gives no limit for a post-mortem body; the one documented limit for message
  text is an incident update body: "a maximum limit of 25000 characters". The
  message may be posted either way, so 25,000 is the ceiling (a policy may set
  a lower `max_length`, never a higher one) and `min_length` defaults to 1
  non-blank character.
* Forbidden words ("outage" unless it really was a full outage: customers read
  "outage" and assume the worst). A word matches case-insensitively at the start
  of a word, so "Outages" and "outage-level" count, "timeout" does not.
  `unless: full_outage` holds when the incident is marked a full outage or the
  reviewers confirmed it on the message.
"""

from __future__ import annotations

import re

from hub.model.incident import Incident
from hub.model.postmortem import ExternalMessage
from hub.policy.schema import ExternalMessageSpec


def lint_external_message(
    message: ExternalMessage, spec: ExternalMessageSpec | None, incident: Incident
) -> list[str]:
    """Every reason the message may not be published; empty when it may."""
    spec = spec or ExternalMessageSpec()
    body = message.body.strip()
    problems: list[str] = []
    if not body:
        return ["the external message is empty"]
    if len(body) < spec.min_length:
        problems.append(f"the external message is shorter than {spec.min_length} characters")
    if len(body) > spec.max_length:
        problems.append(
            f"the external message has {len(body)} characters; the limit is {spec.max_length}"
        )
    full_outage = incident.full_outage or message.full_outage
    for forbidden in spec.forbidden_words:
        if forbidden.unless == "full_outage" and full_outage:
            continue
        found = re.search(rf"\b{re.escape(forbidden.word)}\w*", body, re.IGNORECASE)
        if found:
            problems.append(_word_problem(forbidden.word, found.group(0), forbidden.unless))
    return problems


def _word_problem(word: str, found: str, unless: str | None) -> str:
    if word.casefold() == "outage" and unless == "full_outage":
        return (
            f"avoid {found!r} unless it was a full outage; "
            "say 'incident' or 'service degradation' instead"
        )
    suffix = f" unless {unless.replace('_', ' ')}" if unless else ""
    return f"the external message must not use {found!r}{suffix}"
