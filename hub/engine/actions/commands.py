"""`/postmortem` commands and pmhub's buttons, carried out and answered.

The intake adapter has parsed the text into a `Command`; here the incident is
found, the verb is run through `hub.engine.actions.transitions` (the same actions the admin
API will use) and the answer goes to the command's `response_url`, visible only
to the person who asked.

Finding the incident: a pmhub id (`pagerduty:P123`), a human reference (`PD-123`,
`INC-45`), a button's value (the incident id, or `pm:<incident id>`), or, with none
of those, the incident whose Slack channel the command was typed in.

People: Slack names people by user id, pmhub by email where it can (calendar
invites need an email). The Notifier port has no user-profile call, so a mention is
matched against the people pmhub already knows for the incident (commander,
responders, owner…) through `Notifier.chat_user`; a match carries its email
along. Anyone else is kept by their Slack id: they are still DMed and mentioned
(the notifier uses the id directly), but a calendar invite cannot name them.

`help` and unparseable commands are answered by the front door in the HTTP
response itself (Slack shows it at once), so they get no second answer here.

Hand off…: the button opens a form (Slack: a modal) where the new owner is picked;
its submission arrives as an `owner` command, so a hand-off from the form and one
from `/postmortem owner @user` are the same action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.engine.actions import decisions
from hub.engine.actions.meeting_link import read_linked_event
from hub.engine.actions.transitions import ActionResult, PostMortemActions
from hub.errors import ConnectorError, Transient
from hub.model.command import Command, CommandVerb, FollowUpFormContext, HandoffContext
from hub.model.incident import Incident, Person
from hub.model.incident_record import IncidentRecord
from hub.model.postmortem import PostMortem, PostMortemStatus
from hub.policy import PolicySet, evaluate
from hub.ports import Answer, AnswerKind, Calendar, Notifier
from hub.store.records import list_incidents
from hub.store.state import load_incident, load_postmortem

log = structlog.get_logger("pmhub.commands")
# How many recent incidents a reference (PD-123) or a channel is looked for among.
SEARCH_LIMIT = 1000
NO_INCIDENT = (
    "Which incident? Name it at the end (`PD-123`, `INC-45` or `pagerduty:P123`), "
    "or use the command in the incident's own channel."
)
DEFAULT_PRIORITIES = ("P0", "P1", "P2", "P3")
_TRANSITIONS = {
    CommandVerb.REVIEW: (PostMortemStatus.IN_REVIEW, "move the post-mortem to In Review"),
    CommandVerb.REVIEWED: (PostMortemStatus.REVIEWED, "mark the post-mortem Reviewed"),
    CommandVerb.CLOSE: (PostMortemStatus.CLOSED, "close the post-mortem"),
}


class CommandExecutor:
    """`Wiring.on_command`: run one command (idempotently per `origin`) and answer it."""

    def __init__(
        self,
        engine: AsyncEngine,
        actions: PostMortemActions,
        notifier: Notifier,
        policies: PolicySet,
        *,
        clock: Callable[[], datetime],
        calendar: Calendar | None = None,
    ) -> None:
        self.engine, self.actions, self.notifier = engine, actions, notifier
        self.policies, self._clock = policies, clock
        self.calendar = calendar  # reads a meeting a person links (`meeting`)

    async def __call__(self, command: Command, origin: str) -> None:
        with structlog.contextvars.bound_contextvars(verb=command.verb.value, origin=origin):
            answer = await self.execute(command, origin)
            log.info("command.done", answer=answer.kind.value if answer else None)
            if answer is not None and command.response_url:
                await self._reply(command.response_url, answer)

    async def execute(self, command: Command, origin: str) -> Answer | None:
        """Carry out `command`; the answer to give (None: nothing to say)."""
        verb = command.verb
        if verb in (CommandVerb.HELP, CommandVerb.INVALID, CommandVerb.OPEN):
            return None  # answered by the front door; `open` is a link Slack follows itself
        incident = await self.find_incident(command)
        if incident is None:
            return Answer(AnswerKind.REFUSED, NO_INCIDENT, action=verb.value)
        postmortem = await load_postmortem(self.engine, incident.id)
        if verb is CommandVerb.HANDOFF:
            return await self._handoff(command, incident, postmortem)  # before any look-up
        if verb is CommandVerb.ADD_TODO:
            return await self._todo_form(command, incident, postmortem)  # likewise
        request = _Request(
            command,
            origin,
            incident,
            postmortem,
            await self._identify(command.actor, incident, postmortem),
        )
        handlers: dict[CommandVerb, Callable[[_Request], Awaitable[Answer]]] = {
            CommandVerb.STATUS: self._status,
            CommandVerb.OWNER: self._owner,
            CommandVerb.ACCEPT: self._owner,
            CommandVerb.FOLLOWUP: self._follow_up,
            CommandVerb.NO_FOLLOW_UPS: self._no_follow_ups,
            CommandVerb.MESSAGE: self._message,
            CommandVerb.TAKE: self._take,
            CommandVerb.KEEP: self._requirement,
            CommandVerb.NOT_NEEDED: self._requirement,
            CommandVerb.SECOND_REVIEW: self._second_review,
            CommandVerb.REVIEW_STANDS: self._second_review,
            CommandVerb.MEETING: self._meeting,
        }
        return await handlers.get(verb, self._transition)(request)

    async def find_incident(self, command: Command) -> Incident | None:
        ref = command.incident_ref or command.postmortem_id
        if ref:
            return await self._by_reference(ref)
        if command.channel_id:
            for incident in await self._recent():
                if incident.links.slack_channel_id == command.channel_id:
                    return incident
        return None

    async def _by_reference(self, ref: str) -> Incident | None:
        wanted = ref.removeprefix("pm:")
        if ":" in wanted:
            stored = await load_incident(self.engine, wanted)
            return stored.incident if stored else None
        for incident in await self._recent():
            if incident.reference and incident.reference.upper() == wanted.upper():
                return incident
        return None

    async def _recent(self) -> list[Incident]:
        rows = await list_incidents(self.engine, limit=SEARCH_LIMIT)
        return [IncidentRecord.from_json(row["data"]).incident for row in rows if row["data"]]

    async def _status(self, request: _Request) -> Answer:
        incident, postmortem = request.incident, request.postmortem
        plan = evaluate(incident, postmortem, self.policies, self._clock())
        return Answer(
            AnswerKind.STATUS,
            incident=incident,
            postmortem=postmortem,
            owner=plan.owner.person if plan.owner else None,
            deadline=plan.meeting.deadline if plan.meeting else None,
        )

    async def _handoff(
        self, command: Command, incident: Incident, postmortem: PostMortem | None
    ) -> Answer | None:
        """Open the hand-off form; if it cannot open, say how to hand off with the command.

        Where this runs: in the ingest job, not in the front door's request, which stores
        and answers without calling any vendor (a request that waited on Slack could lose
        the delivery, and would hold Slack's own 3 s answer deadline hostage). The trigger
        Slack gives with the press also lives 3 s, so this path is kept short: the front
        door wakes the worker at once (the job usually starts within milliseconds), and
        before views.open there are two reads from the store and a pure plan evaluation,
        no Slack call (`_identify`, which may look people up, is not run for this verb).
        When the workers are all busy the trigger may expire before the job starts;
        Slack then answers `expired_trigger_id` and the person gets the command to use.
        A Slack failure is not retried either: by the retry the trigger would be expired.
        """
        fallback = Answer(
            AnswerKind.HELP,
            "The hand-off form could not be opened. To hand the post-mortem off, run "
            f"`/postmortem owner @someone {_name(incident)}`: they are told, and so is "
            "the channel.",
        )
        if not command.trigger_id:
            return fallback
        plan = evaluate(incident, postmortem, self.policies, self._clock())
        handoff = HandoffContext(
            incident_id=incident.id,
            response_url=command.response_url,
            channel_id=command.channel_id,
        )
        owner = plan.owner.person if plan.owner else None
        try:
            opened = await self.notifier.open_handoff(command.trigger_id, incident, owner, handoff)
        except Transient as exc:
            log.warning("command.handoff_form_failed", error=str(exc))
            opened = False
        return None if opened else fallback

    async def _todo_form(
        self, command: Command, incident: Incident, postmortem: PostMortem | None
    ) -> Answer | None:
        """ "Add as follow-up" on a TODO found in the history: the form asking its priority.

        Kept as short as the hand-off form's path (the trigger lives 3 s). A TODO added
        already is said so; if the form cannot open, the command to use is given.
        """
        candidate = (
            postmortem.candidate(command.candidate_id)
            if postmortem is not None and command.candidate_id
            else None
        )
        if candidate is None:
            return Answer(AnswerKind.REFUSED, "That TODO is not known.", action="add_todo")
        if candidate.follow_up_id is not None:
            text = f"That TODO was added already, as {candidate.follow_up_id}."
            return Answer(AnswerKind.REFUSED, text, action="add_todo", incident=incident)
        fallback = Answer(
            AnswerKind.HELP,
            "The form could not be opened. To add it, run "
            f"`/postmortem followup P1 {candidate.text} {_name(incident)}`.",
        )
        if not command.trigger_id:
            return fallback
        found = self.policies.match(incident)
        spec = found[1].follow_ups if found else None
        priorities = (spec.priorities if spec and spec.priorities else None) or DEFAULT_PRIORITIES
        context = FollowUpFormContext(
            incident_id=incident.id,
            candidate_id=candidate.id,
            response_url=command.response_url,
            channel_id=command.channel_id,
        )
        try:
            opened = await self.notifier.open_follow_up_form(
                command.trigger_id, incident, candidate, context, priorities
            )
        except Transient as exc:
            log.warning("command.todo_form_failed", error=str(exc))
            opened = False
        return None if opened else fallback

    async def _follow_up(self, request: _Request) -> Answer:
        command, incident = request.command, request.incident
        owner = command.mentions[0] if command.mentions else None
        if owner is not None:
            owner = await self._identify(owner, incident, request.postmortem)
        result = await self.actions.add_follow_up(
            incident.id,
            command.text,
            command.priority or "P2",
            request.actor,
            origin=request.origin,
            owner=owner,
            candidate_id=command.candidate_id,
        )
        return _answer(result, "add the follow-up")

    async def _no_follow_ups(self, request: _Request) -> Answer:
        result = await self.actions.declare_no_follow_ups(
            request.incident.id, request.actor, request.command.text, origin=request.origin
        )
        return _answer(result, "record that there are no follow-ups")

    async def _take(self, request: _Request) -> Answer:
        result = await decisions.take(
            self.actions, request.incident.id, request.actor, origin=request.origin
        )
        return _answer(result, "take the post-mortem")

    async def _requirement(self, request: _Request) -> Answer:
        answer: Literal["keep", "close"] = (
            "keep" if request.command.verb is CommandVerb.KEEP else "close"
        )
        result = await decisions.decide_requirement(
            self.actions, request.incident.id, answer, request.actor, origin=request.origin
        )
        return _answer(result, "decide about the post-mortem")

    async def _second_review(self, request: _Request) -> Answer:
        second = request.command.verb is CommandVerb.SECOND_REVIEW
        result = await decisions.answer_second_review(
            self.actions, request.incident.id, second, request.actor, origin=request.origin
        )
        return _answer(result, "answer about a second review")

    async def _message(self, request: _Request) -> Answer:
        result = await self.actions.set_external_message(
            request.incident.id, request.command.text, request.actor, origin=request.origin
        )
        return _answer(result, "save the external message")

    async def _meeting(self, request: _Request) -> Answer:
        plan = evaluate(request.incident, request.postmortem, self.policies, self._clock())
        team_calendar = plan.route.calendar_id if plan.route else None  # issue 15
        found = await read_linked_event(
            self.calendar, request.command.text, calendar_id=team_calendar
        )
        if isinstance(found, str):
            return Answer(
                AnswerKind.REFUSED, found, action="link the meeting", incident=request.incident
            )
        result = await self.actions.link_meeting(
            request.incident.id, found, request.actor, origin=request.origin
        )
        return _answer(result, "link the meeting")

    async def _owner(self, request: _Request) -> Answer:
        command, origin, incident = request.command, request.origin, request.incident
        postmortem, actor = request.postmortem, request.actor
        if command.verb is CommandVerb.OWNER:
            if not command.mentions:
                return Answer(AnswerKind.REFUSED, "name the new owner with @", action="designate")
            person = await self._identify(command.mentions[0], incident, postmortem)
        else:
            # Accept: the owner confirming needs no change (a new designation would
            # re-notify them); anyone else pressing it takes the post-mortem on.
            plan = evaluate(incident, postmortem, self.policies, self._clock())
            current = plan.owner.person if plan.owner else None
            if postmortem is not None and current and await self._same(current, actor):
                # Recorded, so their DM is edited to show it (nobody is told anew).
                await self.actions.accept_ownership(incident.id, current, origin=origin)
                return Answer(
                    AnswerKind.DONE, "Thank you: the post-mortem is yours.", incident=incident
                )
            person = actor
        result = await self.actions.designate_owner(
            incident.id, person, actor, origin=origin, reason=command.text
        )
        return _answer(result, "designate the owner")

    async def _transition(self, request: _Request) -> Answer:
        command, origin, incident = request.command, request.origin, request.incident
        postmortem, actor = request.postmortem, request.actor
        to, action = _TRANSITIONS[command.verb]
        reason = command.override_reason if command.override else command.text or None
        if command.verb is CommandVerb.CLOSE and not command.override:
            plan = evaluate(incident, postmortem, self.policies, self._clock())
            untouched = postmortem is None or postmortem.status is PostMortemStatus.DRAFT
            # Optional and not started, or no longer required: closing means not needed.
            if plan.dropped or (plan.required == "optional" and untouched):
                result = await self.actions.close_not_needed(
                    incident.id, actor, command.text, origin=origin
                )
                return _answer(result, action)
        # Closing shares the outcome in the channel: the plan of the closed post-mortem
        # asks for it (SHARE_OUTCOME), so it is said once whoever closed it.
        result = await self.actions.transition(
            incident.id, to, actor, origin=origin, reason=reason, override=command.override
        )
        return _answer(result, action)

    async def _identify(
        self, person: Person, incident: Incident, postmortem: PostMortem | None
    ) -> Person:
        """A Slack-only person, completed from the incident's known people when one matches."""
        if person.email or not person.slack_id:
            return person
        for known in _known_people(incident, postmortem):
            if known.email and await self.notifier.chat_user(known) == person.slack_id:
                return known.merged_with(person)
        return person

    async def _same(self, a: Person, b: Person) -> bool:
        if a.key == b.key:
            return True
        first, second = await self.notifier.chat_user(a), await self.notifier.chat_user(b)
        return first is not None and first == second

    async def _reply(self, response_url: str, answer: Answer) -> None:
        try:
            await self.notifier.reply(response_url, answer)
        except Transient:
            raise  # the delivery is retried; every action is idempotent by its origin
        except ConnectorError as exc:
            # An expired or used-up response_url: the work is done, only the answer is lost.
            log.warning("command.reply_failed", error=str(exc))


@dataclass(frozen=True)
class _Request:
    command: Command
    origin: str
    incident: Incident
    postmortem: PostMortem | None
    actor: Person  # completed with an email when pmhub knows them


def _answer(result: ActionResult, action: str) -> Answer:
    kind = AnswerKind.DONE if result.allowed else AnswerKind.REFUSED
    return Answer(
        kind, result.message, action=action, incident=result.incident, postmortem=result.postmortem
    )


def _name(incident: Incident) -> str:
    return incident.reference or incident.id


def _known_people(incident: Incident, postmortem: PostMortem | None) -> list[Person]:
    people = [
        incident.incident_commander,
        incident.primary_oncall,
        incident.manual_trigger,
        incident.reporter,
        *incident.assignees,
        *(ack.person for ack in incident.acknowledgers),
        *(responder.person for responder in incident.responders),
        *(holder.person for holder in incident.roles),
        *(d.person for d in (postmortem.designations if postmortem else ())),
    ]
    unique: dict[str, Person] = {}
    for person in people:
        if person is not None:
            unique.setdefault(person.key, person)
    return list(unique.values())
