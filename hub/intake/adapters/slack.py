"""Slack `/postmortem` commands and button presses → `Command`.

Grammar (the incident may be named last, or left out inside an incident channel):

    help
    status [INCIDENT]
    owner @user [INCIDENT]
    followup P0|P1|P2 [@owner] summary… [INCIDENT]
    followups none reason… [INCIDENT]
    message text… [INCIDENT]
    meeting EVENT-LINK [INCIDENT]
    review [INCIDENT]
    reviewed [--override reason…] [INCIDENT]
    close [--override] [reason…] [INCIDENT]

Slack sends mentions escaped as `<@U123|name>` (with "Escape channels, users,
and links" on); a bare `@name` where a person is expected means that setting is
off or the name was typed by hand, and gets an explanation instead of a guess.

Interactions: pmhub's buttons (`block_actions`) and the submitted hand-off form
(`view_submission` with callback id `pm_handoff`), which becomes the same `owner`
command as `/postmortem owner @user INCIDENT`, plus the reason given in the form; the
submitted "Add as follow-up" form (`pm_todo`) becomes the `followup` command for the TODO
it was opened on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from hub.intake.adapters.base import AdapterResult, Ignored, load_json, obj, objs, text, word
from hub.model.command import (
    HANDOFF_FORM,
    HANDOFF_OWNER_ACTION,
    HANDOFF_OWNER_BLOCK,
    HANDOFF_REASON_ACTION,
    HANDOFF_REASON_BLOCK,
    HANDOFF_REASON_MAX,
    TODO_BUTTON,
    TODO_FORM,
    TODO_PRIORITY_ACTION,
    TODO_PRIORITY_BLOCK,
    TODO_SUMMARY_ACTION,
    TODO_SUMMARY_BLOCK,
    TODO_SUMMARY_MAX,
    Command,
    CommandVerb,
    FollowUpFormContext,
    HandoffContext,
)
from hub.model.incident import Person

HELP_TEXT = "\n".join(
    [
        "*`/postmortem` commands*",
        "• `help`: this list",
        "• `status [INCIDENT]`: where the post-mortem stands",
        "• `owner @user [INCIDENT]`: hand the post-mortem to someone",
        "• `followup P0|P1|P2 [@owner] summary… [INCIDENT]`: add a follow-up action",
        "• `followups none reason… [INCIDENT]`: there are no follow-ups to file, and why",
        "• `message text… [INCIDENT]`: set the external message for customers",
        "• `meeting EVENT-LINK [INCIDENT]`: link a meeting you booked on the shared calendar",
        "• `review [INCIDENT]`: ask for the review",
        "• `reviewed [--override reason…] [INCIDENT]`: the meeting reviewed it",
        "• `close [--override] [reason…] [INCIDENT]`: close the post-mortem",
        "INCIDENT is `PD-123`, `INC-45` or a pmhub id such as `pagerduty:P123`;"
        " leave it out inside the incident's channel.",
    ]
)
_TOKEN = re.compile(r"<[^>]*>|\S+")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_REF = re.compile(r"^(?:(pagerduty|incidentio):[A-Za-z0-9_-]+|PD-\d+|INC-\d+)$", re.IGNORECASE)
_PRIORITY = re.compile(r"^P[0-9]$", re.IGNORECASE)
_OVERRIDE = "--override"
_BUTTONS = {
    "pm_accept": CommandVerb.ACCEPT,
    "pm_handoff": CommandVerb.HANDOFF,
    "pm_open": CommandVerb.OPEN,
    # issue 13 (connectors/slack/lifecycle_messages.py)
    "pm_take": CommandVerb.TAKE,
    "pm_keep": CommandVerb.KEEP,
    "pm_not_needed": CommandVerb.NOT_NEEDED,
    "pm_second_review": CommandVerb.SECOND_REVIEW,
    "pm_review_stands": CommandVerb.REVIEW_STANDS,
    TODO_BUTTON: CommandVerb.ADD_TODO,
}


class _Invalid(Exception):
    """A user's mistake; becomes an `invalid` command, never leaves this module."""


def decode_form(body: bytes) -> dict[str, str] | None:
    """An x-www-form-urlencoded body (first value of each field), or None if malformed."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def parse_command_form(form: Mapping[str, str]) -> Command:
    """The fields of a slash-command request."""
    actor = Person(slack_id=text(form.get("user_id")), name=text(form.get("user_name")))
    return parse_command_text(
        form.get("text", ""),
        actor=actor,
        channel_id=text(form.get("channel_id")),
        response_url=text(form.get("response_url")),
        trigger_id=text(form.get("trigger_id")),
    )


def parse_command_text(
    raw: str,
    *,
    actor: Person,
    channel_id: str | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> Command:
    context: dict[str, Any] = {
        "actor": actor,
        "channel_id": channel_id,
        "response_url": response_url,
        "trigger_id": trigger_id,
        "raw_text": raw,
    }
    tokens = _TOKEN.findall(raw)
    if not tokens:
        return Command(verb=CommandVerb.HELP, message=HELP_TEXT, **context)
    word, args = tokens[0].casefold(), tokens[1:]
    parser = _PARSERS.get(word)
    if parser is None:
        return _invalid(f"I don't know `{tokens[0]}`.", context)
    if args and _REF.match(args[-1]):
        context["incident_ref"] = _normal_ref(args.pop())
    try:
        return Command(**context, **parser(args))
    except _Invalid as problem:
        return _invalid(str(problem), context)


def _invalid(problem: str, context: dict[str, Any]) -> Command:
    return Command(verb=CommandVerb.INVALID, message=f"{problem}\n\n{HELP_TEXT}", **context)


def _normal_ref(token: str) -> str:
    if ":" in token:
        source, _, vendor_id = token.partition(":")
        return f"{source.lower()}:{vendor_id}"
    return token.upper()


def _mention(token: str) -> Person:
    match = _MENTION.match(token)
    if match is None:
        raise _Invalid(
            f"`{token}` is not a Slack mention: type @ and pick the person from the list"
            " so Slack links them."
        )
    return Person(slack_id=match.group(1), name=text(match.group(2)))


def _help(args: list[str]) -> dict[str, Any]:
    return {"verb": CommandVerb.HELP, "message": HELP_TEXT}


def _no_args(verb: CommandVerb) -> Callable[[list[str]], dict[str, Any]]:
    def parse(args: list[str]) -> dict[str, Any]:
        if args:
            raise _Invalid(f"`{verb.value}` takes nothing but an incident, not `{' '.join(args)}`.")
        return {"verb": verb}

    return parse


def _owner(args: list[str]) -> dict[str, Any]:
    if len(args) != 1:
        raise _Invalid("Usage: `owner @user [INCIDENT]`, with exactly one person.")
    return {"verb": CommandVerb.OWNER, "mentions": (_mention(args[0]),)}


def _followup(args: list[str]) -> dict[str, Any]:
    if not args or not _PRIORITY.match(args[0]):
        raise _Invalid("Usage: `followup P0|P1|P2 [@owner] summary… [INCIDENT]`: start with P0-P2.")
    priority, rest = args[0].upper(), args[1:]
    mentions: tuple[Person, ...] = ()
    if rest and rest[0].startswith(("@", "<@")):
        mentions, rest = (_mention(rest[0]),), rest[1:]
    if not rest:
        raise _Invalid("A follow-up needs a summary of what should be done.")
    return {
        "verb": CommandVerb.FOLLOWUP,
        "priority": priority,
        "mentions": mentions,
        "text": " ".join(rest),
    }


def _followups(args: list[str]) -> dict[str, Any]:
    """`followups none reason…`: seed 001 leaves action items to the individuals."""
    if not args or args[0].casefold() != "none":
        raise _Invalid("Usage: `followups none reason… [INCIDENT]`: say why there are none.")
    if not args[1:]:
        raise _Invalid("`followups none` needs a reason: why does this need no follow-ups?")
    return {"verb": CommandVerb.NO_FOLLOW_UPS, "text": " ".join(args[1:])}


def _message(args: list[str]) -> dict[str, Any]:
    if not args:
        raise _Invalid("Usage: `message text… [INCIDENT]`: the text customers will read.")
    return {"verb": CommandVerb.MESSAGE, "text": " ".join(args)}


def _meeting(args: list[str]) -> dict[str, Any]:
    if len(args) != 1:
        raise _Invalid(
            "Usage: `meeting EVENT-LINK [INCIDENT]`: the link of the event you booked on the "
            "shared post-mortem calendar (or its id)."
        )
    # Slack sends a pasted URL as <https://…> (or <https://…|label>): the URL itself.
    link = args[0].removeprefix("<").removesuffix(">").split("|", 1)[0]
    return {"verb": CommandVerb.MEETING, "text": link}


def _override(verb: CommandVerb, args: list[str]) -> dict[str, Any]:
    reason = " ".join(args[1:])
    if not reason:
        raise _Invalid(f"Usage: `{verb.value} --override reason…`: an override needs a reason.")
    return {"verb": verb, "override": True, "override_reason": reason}


def _reviewed(args: list[str]) -> dict[str, Any]:
    if not args:
        return {"verb": CommandVerb.REVIEWED}
    if args[0].casefold() != _OVERRIDE:
        raise _Invalid("Usage: `reviewed [--override reason…]`: nothing else may follow.")
    return _override(CommandVerb.REVIEWED, args)


def _close(args: list[str]) -> dict[str, Any]:
    if args and args[0].casefold() == _OVERRIDE:
        return _override(CommandVerb.CLOSE, args)
    return {"verb": CommandVerb.CLOSE, "text": " ".join(args)}


_PARSERS: dict[str, Callable[[list[str]], dict[str, Any]]] = {
    "help": _help,
    "status": _no_args(CommandVerb.STATUS),
    "owner": _owner,
    "followup": _followup,
    "followups": _followups,
    "message": _message,
    "meeting": _meeting,
    "review": _no_args(CommandVerb.REVIEW),
    "reviewed": _reviewed,
    "close": _close,
}


def parse_interaction(payload: Mapping[str, Any]) -> tuple[AdapterResult, ...]:
    """A `block_actions` payload: one Command per pmhub button pressed; a submitted
    hand-off form: its `owner` command."""
    kind = text(payload.get("type"))
    if kind == "view_submission":
        return (_submission(payload),)
    if kind != "block_actions":
        return (Ignored(kind, "interaction type not used"),)
    actor = _actor(payload)
    channel_id = text(obj(payload.get("channel")).get("id")) or text(
        obj(payload.get("container")).get("channel_id")
    )
    commands: list[AdapterResult] = [
        Command(
            verb=_BUTTONS[action_id],
            actor=actor,
            channel_id=channel_id,
            response_url=text(payload.get("response_url")),
            trigger_id=text(payload.get("trigger_id")),
            **_button_value(action_id, text(action.get("value"))),
        )
        for action in objs(payload.get("actions"))
        if (action_id := word(action.get("action_id"))) in _BUTTONS
    ]
    return tuple(commands) or (Ignored(kind, "no pmhub button in the actions"),)


def _button_value(action_id: str | None, value: str | None) -> dict[str, Any]:
    """A button's value: the incident id; "<incident id>|<todo id>" on Add as follow-up."""
    if action_id == TODO_BUTTON and value:
        incident, _, candidate = value.partition("|")
        return {"postmortem_id": incident or None, "candidate_id": candidate or None}
    return {"postmortem_id": value}


def view_submission_ack(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """How to answer a submitted form at once: None for Slack's empty 200 (the modal
    closes), or `response_action: errors` naming the fields to fix (it stays open)."""
    reader = _FORMS.get(_callback(payload))
    if reader is not None:
        _, errors = reader(payload)
        if errors:
            return {"response_action": "errors", "errors": errors}
    return None


def _submission(payload: Mapping[str, Any]) -> AdapterResult:
    reader = _FORMS.get(_callback(payload))
    if reader is None:
        return Ignored("view_submission", "not a pmhub form")
    command, errors = reader(payload)
    if command is None:
        # Answered with the errors already (the modal stayed open); nothing to do.
        return Ignored("view_submission", "a form with errors: " + ", ".join(errors))
    return command


def _callback(payload: Mapping[str, Any]) -> str | None:
    return text(obj(payload.get("view")).get("callback_id"))


def _read_handoff(payload: Mapping[str, Any]) -> tuple[Command | None, dict[str, str]]:
    """The hand-off form's `owner` command, or the errors to show by input block id."""
    view = obj(payload.get("view"))
    values = obj(obj(view.get("state")).get("values"))
    picked = obj(obj(values.get(HANDOFF_OWNER_BLOCK)).get(HANDOFF_OWNER_ACTION))
    new_owner = text(picked.get("selected_user"))
    reason = text(
        obj(obj(values.get(HANDOFF_REASON_BLOCK)).get(HANDOFF_REASON_ACTION)).get("value")
    )
    handoff = HandoffContext.decode(text(view.get("private_metadata")))
    errors: dict[str, str] = {}
    if handoff is None:
        errors[HANDOFF_OWNER_BLOCK] = (
            "This form is out of date: close it and press Hand off… again."
        )
    elif new_owner is None or not _USER_ID.match(new_owner):
        errors[HANDOFF_OWNER_BLOCK] = "Choose the person who takes the post-mortem over."
    if reason is not None and len(reason) > HANDOFF_REASON_MAX:
        errors[HANDOFF_REASON_BLOCK] = f"At most {HANDOFF_REASON_MAX} characters, please."
    if errors or handoff is None or new_owner is None:
        return None, errors
    command = Command(
        verb=CommandVerb.OWNER,
        actor=_actor(payload),
        channel_id=handoff.channel_id,
        response_url=handoff.response_url,
        trigger_id=text(payload.get("trigger_id")),
        incident_ref=handoff.incident_id,
        mentions=(Person(slack_id=new_owner),),
        text=reason or "",
    )
    return command, {}


def _read_todo(payload: Mapping[str, Any]) -> tuple[Command | None, dict[str, str]]:
    """The "Add as follow-up" form's `followup` command, or the errors by input block id."""
    view = obj(payload.get("view"))
    values = obj(obj(view.get("state")).get("values"))
    summary = text(obj(obj(values.get(TODO_SUMMARY_BLOCK)).get(TODO_SUMMARY_ACTION)).get("value"))
    chosen = obj(
        obj(obj(values.get(TODO_PRIORITY_BLOCK)).get(TODO_PRIORITY_ACTION)).get("selected_option")
    )
    priority = text(chosen.get("value"))
    form = FollowUpFormContext.decode(text(view.get("private_metadata")))
    errors: dict[str, str] = {}
    if form is None:
        errors[TODO_SUMMARY_BLOCK] = (
            "This form is out of date: close it and press the button again."
        )
    elif not summary or not summary.strip():
        errors[TODO_SUMMARY_BLOCK] = "Say what should be done."
    elif len(summary) > TODO_SUMMARY_MAX:
        errors[TODO_SUMMARY_BLOCK] = f"At most {TODO_SUMMARY_MAX} characters, please."
    if priority is None or not _PRIORITY.match(priority):
        errors[TODO_PRIORITY_BLOCK] = "Choose a priority."
    if errors or form is None or summary is None or priority is None:
        return None, errors
    command = Command(
        verb=CommandVerb.FOLLOWUP,
        actor=_actor(payload),
        channel_id=form.channel_id,
        response_url=form.response_url,
        trigger_id=text(payload.get("trigger_id")),
        incident_ref=form.incident_id,
        priority=priority.upper(),
        text=summary.strip(),
        candidate_id=form.candidate_id,
    )
    return command, {}


_FORMS: dict[str | None, Callable[[Mapping[str, Any]], tuple[Command | None, dict[str, str]]]] = {
    HANDOFF_FORM: _read_handoff,
    TODO_FORM: _read_todo,
}


def _actor(payload: Mapping[str, Any]) -> Person:
    user = obj(payload.get("user"))
    return Person(
        slack_id=text(user.get("id")), name=text(user.get("username")) or text(user.get("name"))
    )


def parse_delivery(source: str, body: bytes) -> tuple[AdapterResult, ...]:
    """A stored Slack delivery: `slack/commands` or `slack/interactions`."""
    form = decode_form(body)
    if form is None:
        return (Ignored(None, "body is not a form"),)
    if source == "slack/commands":
        if not text(form.get("user_id")):
            return (Ignored(text(form.get("command")), "command without user"),)
        return (parse_command_form(form),)
    payload = load_json(form.get("payload", "").encode())
    if not isinstance(payload, dict):
        return (Ignored(None, "interaction without a JSON payload"),)
    return parse_interaction(payload)
