"""The Slack fake's modals: trigger ids, the views `views.open` opened, and the
interaction payloads that carry triggers and submitted views back to the app.

Slack gives an app a `trigger_id` with each interaction (a button press, a slash
command, a submitted view); `views.open` exchanges it for a modal in front of the
user who interacted, once (`exchanged_trigger_id`), within 3 seconds
(`expired_trigger_id`). A trigger not shaped like `12345.98765.abcd2358fdea` is
`invalid_trigger_id`; a well-formed one Slack never issued is `invalid_arguments`
with "invalid `trigger_id`" (views.open's documented example error).

A view is checked the way docs.slack.dev ("Modal views") states it: type `modal`; a
plain-text title, and submit/close when given, of 1-24 characters; `submit` required
once there is an input block; at most 100 blocks with unique block ids; input blocks
with a label (at most 2000) and an element with an action id (at most 255);
`private_metadata` at most 3000 characters, `callback_id` at most 255. Problems are
answered as Slack does: `invalid_arguments` with `[ERROR] … [json-pointer:/view/…]`
messages in `response_metadata.messages`.

Tests get their interactions from here (`FakeSlack.press_button`,
`FakeSlack.submit_view`) so that every trigger pmhub receives was issued by the fake,
every button pressed is one pmhub really posted, and every submitted view is one pmhub
really opened, with `state.values` shaped as Slack sends them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

Json = dict[str, Any]

TRIGGER_TTL_SECONDS = 3.0
MAX_VIEW_BLOCKS = 100
VIEW_TEXT_MAX = 24
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
ID_MAX = 255
PRIVATE_METADATA_MAX = 3000
TEXT_INPUT_MAX = 3000
VIEW_MAX_BYTES = 250_000
TRIGGER_FORMAT = re.compile(r"^\d+\.\d+\.[0-9a-f]+$")
# What each input element reports in `state.values` (docs.slack.dev, block elements).
STATE_KEYS = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "static_select": "selected_option",
    "datepicker": "selected_date",
}


class TriggerCheck(Enum):
    OK = "ok"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    EXCHANGED = "exchanged"


@dataclass
class Trigger:
    user_id: str
    issued_at: float
    exchanged: bool = False


@dataclass
class FakeModals:
    """Triggers issued, views opened (by view id) and for whom."""

    clock: Callable[[], float]
    team: str
    app_id: str
    bot_id: str
    ttl: float = TRIGGER_TTL_SECONDS
    triggers: dict[str, Trigger] = field(default_factory=dict)
    views: dict[str, Json] = field(default_factory=dict)
    viewers: dict[str, str] = field(default_factory=dict)  # view id -> user id
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def issue_trigger(self, user_id: str) -> str:
        n = next(self._ids)
        secret = hashlib.sha256(f"{self.team}:{user_id}:{n}".encode()).hexdigest()[:32]
        trigger_id = f"{1_000_000_000 + n}.{self.team_number()}.{secret}"
        self.triggers[trigger_id] = Trigger(user_id, self.clock())
        return trigger_id

    def team_number(self) -> int:
        return int(hashlib.sha256(self.team.encode()).hexdigest()[:10], 16)

    def exchange(self, trigger_id: object) -> tuple[TriggerCheck, str | None]:
        """Use a trigger up; what was wrong with it, and the user it belongs to."""
        if not isinstance(trigger_id, str) or not TRIGGER_FORMAT.match(trigger_id):
            return TriggerCheck.MALFORMED, None
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            return TriggerCheck.UNKNOWN, None
        if trigger.exchanged:
            return TriggerCheck.EXCHANGED, trigger.user_id
        if self.clock() - trigger.issued_at > self.ttl:
            return TriggerCheck.EXPIRED, trigger.user_id
        trigger.exchanged = True
        return TriggerCheck.OK, trigger.user_id

    def open(self, view: Mapping[str, Any], user_id: str) -> Json:
        """Store an (already checked) view as Slack shows it in views.open's answer."""
        n = next(self._ids)
        view_id = f"V{n:08d}FK"
        blocks = [
            {**block, "block_id": block.get("block_id") or f"b{n}x{index}"}
            for index, block in enumerate(view["blocks"])
        ]
        opened: Json = {
            "id": view_id,
            "team_id": self.team,
            "type": "modal",
            "title": view["title"],
            "blocks": blocks,
            "close": view.get("close"),
            "submit": view.get("submit"),
            "private_metadata": view.get("private_metadata") or "",
            "callback_id": view.get("callback_id") or "",
            "external_id": view.get("external_id") or "",
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{n:08x}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "app_installed_team_id": self.team,
            "bot_id": self.bot_id,
        }
        self.views[view_id] = opened
        self.viewers[view_id] = user_id
        return opened

    def submitted_state(self, view_id: str, user_id: str, inputs: Mapping[str, Any]) -> Json:
        """`view.state` as Slack sends it when `user_id` submits with `inputs` (by action id).

        Raises ValueError for what Slack's client would not let happen: submitting a
        view opened for someone else, naming an input the view lacks, or leaving a
        required input empty.
        """
        if self.viewers.get(view_id) != user_id:
            raise ValueError(f"view {view_id} was not opened for {user_id}")
        values: Json = {}
        unknown = set(inputs)
        for block in self.views[view_id]["blocks"]:
            if block.get("type") != "input":
                continue
            element = block["element"]
            action_id = element["action_id"]
            value = inputs.get(action_id)
            unknown.discard(action_id)
            if value in (None, "") and not block.get("optional", False):
                raise ValueError(f"Slack would not submit: {block['block_id']} is required")
            key = STATE_KEYS.get(element["type"], "value")
            values[block["block_id"]] = {action_id: {"type": element["type"], key: value}}
        if unknown:
            raise ValueError(f"the view has no input {sorted(unknown)}")
        return {"values": values}


def view_problems(view: object) -> list[str]:
    """What Slack would refuse in a modal view, as its `[ERROR]` messages."""
    if not isinstance(view, dict):
        return [_error("must be an object", "")]
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append(_error("must be one of: modal", "/type"))
    problems += _plain(view.get("title"), "/title", required=True)
    for name in ("submit", "close"):
        problems += _plain(view.get(name), f"/{name}", required=False)
    for name, limit in (("private_metadata", PRIVATE_METADATA_MAX), ("callback_id", ID_MAX)):
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            problems.append(_error(f"must be a string of at most {limit} characters", f"/{name}"))
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
        return [*problems, _error(f"must be a list of at most {MAX_VIEW_BLOCKS}", "/blocks")]
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        problems += _block_problems(block, f"/blocks/{index}", seen)
        if isinstance(block, dict) and block.get("type") == "input" and "submit" not in view:
            problems.append(_error("must define submit to use input block", f"/blocks/{index}"))
    return problems


def view_size(view: object) -> int:
    return len(json.dumps(view).encode())


def _block_problems(block: object, where: str, seen: set[str]) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [_error("must be a block object with a type", where)]
    problems: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or not block_id or len(block_id) > ID_MAX:
            problems.append(_error(f"must be 1-{ID_MAX} characters", f"{where}/block_id"))
        elif block_id in seen:
            problems.append(_error("duplicate block_id", f"{where}/block_id"))
        else:
            seen.add(block_id)
    if block["type"] != "input":
        return problems
    problems += _plain(block.get("label"), f"{where}/label", required=True, limit=LABEL_MAX)
    problems += _plain(block.get("hint"), f"{where}/hint", required=False, limit=LABEL_MAX)
    element = block.get("element")
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [*problems, _error("must provide an element", f"{where}/element")]
    action_id = element.get("action_id")
    if not isinstance(action_id, str) or not action_id or len(action_id) > ID_MAX:
        problems.append(_error(f"must be 1-{ID_MAX} characters", f"{where}/element/action_id"))
    problems += _plain(
        element.get("placeholder"),
        f"{where}/element/placeholder",
        required=False,
        limit=PLACEHOLDER_MAX,
    )
    max_length = element.get("max_length")
    if max_length is not None and (
        not isinstance(max_length, int) or not 0 < max_length <= TEXT_INPUT_MAX
    ):
        problems.append(_error(f"must be 1-{TEXT_INPUT_MAX}", f"{where}/element/max_length"))
    return problems


def _plain(value: object, where: str, *, required: bool, limit: int = VIEW_TEXT_MAX) -> list[str]:
    if value is None:
        return [_error("missing required field", where)] if required else []
    if not isinstance(value, dict) or value.get("type") != "plain_text":
        return [_error("must be a plain_text object", where)]
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return [_error("must be more than 0 characters", f"{where}/text")]
    if len(text) > limit:
        return [_error(f"must be less than {limit + 1} characters", f"{where}/text")]
    return []


def _error(message: str, where: str) -> str:
    return f"[ERROR] {message} [json-pointer:/view{where}]"
