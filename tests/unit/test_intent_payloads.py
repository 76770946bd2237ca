"""Typed intent payloads: one model per intent kind, read back from JSON by its kind."""

from __future__ import annotations

import pytest

from hub.engine.performers import payload_of
from hub.errors import Permanent
from hub.model.intent import (
    Intent,
    IntentKind,
    NotifyFormerOwner,
    NotifyOwner,
    OwnerAndMeetingNote,
    Remind,
    payload_types,
)

from .test_intent_fingerprints import SCENARIOS


def test_every_intent_kind_has_a_payload_model() -> None:
    found = payload_types()
    assert set(found) == set(IntentKind)
    assert found[IntentKind.NOTIFY_OWNER] == (NotifyOwner, NotifyFormerOwner)
    assert len(found[IntentKind.PAGERDUTY_NOTE]) == 2


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_intents_read_back_from_json_as_the_same_intents(scenario: str) -> None:
    """The union picks each payload's model by its kind (and NOTIFY_OWNER's by its shape)."""
    for intent in SCENARIOS[scenario]().intents:
        again = Intent.model_validate_json(intent.model_dump_json())
        assert type(again.payload) is type(intent.payload)
        assert again == intent
        assert again.fingerprint() == intent.fingerprint()


def test_a_performer_handed_another_kinds_payload_refuses_it_for_good() -> None:
    reminder = next(i for i in SCENARIOS["sev1_fresh"]().intents if i.kind is IntentKind.REMIND)
    assert payload_of(reminder, Remind) is reminder.payload
    with pytest.raises(Permanent, match="a remind intent carries Remind, not OwnerAndMeetingNote"):
        payload_of(reminder, OwnerAndMeetingNote)
