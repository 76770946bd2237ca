"""Slack as pmhub's `Notifier` (hub.ports): who hears what, where, in Block Kit.

Routing: the owner hears about their post-mortem in a DM; the incidents channel
hears who owns it and how it ended; review requests go to the post-mortem channel.
Someone Slack does not know (no account for their email) cannot get a DM: their
message goes to the incidents channel instead, naming them by name and email, so
a person is never silently dropped.

The plumbing (who is reachable, how a message is kept true) is `notifier_core`; the
meeting's and the held moments' messages are `notifier_meetings` and
`notifier_lifecycle`; this class joins them and adds the rest.

Every post carries a key derived from the intent's effect key (one per message),
which the connector stores as message metadata and looks for when an earlier
attempt's outcome is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from connectors.slack import messages, replies
from connectors.slack.blocks import (
    ChatMessage,
    chat_message,
    context,
    escape,
    header,
    incident_link,
    incident_name,
    is_group_id,
    mention,
    section,
)
from connectors.slack.followup_messages import follow_up_reminder, team_digest
from connectors.slack.modals import follow_up_modal, handoff_modal
from connectors.slack.notifier_core import People, ref_text
from connectors.slack.notifier_lifecycle import LifecycleNotices
from connectors.slack.notifier_meetings import MeetingNotices
from connectors.slack.notifier_rollup import RollupNotices
from connectors.slack.todos import follow_up_candidates
from hub.errors import Permanent
from hub.model.command import FollowUpFormContext, HandoffContext
from hub.model.digest import TeamDigest
from hub.model.document import CandidateFollowUp
from hub.model.incident import Incident, Person
from hub.model.intent import (
    Remind,
    RemindFollowUp,
)
from hub.model.postmortem import FollowUp, PostMortem
from hub.ports import Answer, AnswerKind


class SlackNotifier(MeetingNotices, LifecycleNotices, RollupNotices):
    """Implements `hub.ports.Notifier` with a `SlackConnector` and the message builders."""

    # -- the process's messages -------------------------------------------------------

    async def notify_owner(
        self,
        incident: Incident,
        postmortem: PostMortem | None,
        owner: Person,
        *,
        deadline: datetime | None,
        effect_key: str,
        unknown_outcome: bool,
        accepted_at: datetime | None = None,
        earlier: str | None = None,
        handed_to: Person | None = None,
        unresolved_roles: Sequence[str] = (),
        external_message: bool = False,
    ) -> str:
        people = await self.people(owner, handed_to, *_designators(postmortem))
        if handed_to is not None:
            message = messages.owner_handed_off(incident, owner, handed_to, people=people)
        else:
            message = messages.owner_designation(
                incident,
                postmortem,
                owner,
                deadline=deadline,
                accepted_at=accepted_at,
                people=people,
                unresolved_roles=unresolved_roles,
                external_message=external_message,
            )
        target = await self._target(owner)
        return await self._kept(target, message, effect_key, unknown_outcome, earlier)

    async def announce_owner(
        self,
        incident: Incident,
        postmortem: PostMortem | None,
        owner: Person,
        *,
        deadline: datetime | None,
        effect_key: str,
        unknown_outcome: bool,
        previous_owner: Person | None = None,
        earlier: str | None = None,
    ) -> str:
        message = messages.channel_announcement(
            incident,
            postmortem,
            owner,
            deadline=deadline,
            people=await self.people(owner),
            previous_owner=previous_owner,
        )
        own = incident.links.slack_channel_id
        if own and own != self._config.incidents_channel:
            # The incident's own channel is where its people are. pmhub may not be in it
            # (not invited, archived since): then the incidents channel hears it instead.
            try:
                return await self._kept(own, message, effect_key, unknown_outcome, earlier)
            except Permanent:
                earlier = None if earlier and earlier.startswith(f"{own}/") else earlier
        channel = self._config.incidents_channel
        return await self._kept(channel, message, effect_key, unknown_outcome, earlier)

    async def ask_optional(
        self, incident: Incident, recipient: Person, *, effect_key: str, unknown_outcome: bool
    ) -> str:
        message = messages.optional_postmortem_question(
            incident, recipient, people=await self.people(recipient)
        )
        return ref_text(await self._to_person(recipient, message, effect_key, unknown_outcome))

    async def remind(
        self,
        incident: Incident,
        reminder: Remind,
        text: str,
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        recipients = reminder.recipients
        people = await self.people(*recipients)
        message = messages.reminder(reminder, text, incident, people=people)
        refs: list[str] = []
        unreachable = False
        for person in recipients:
            slack_id = people.get(person.key)
            if slack_id is None or is_group_id(slack_id):
                unreachable = True  # named (a group: mentioned) in the one channel post below
                continue
            key = f"{effect_key}/to:{person.key}"
            refs.append(ref_text(await self._to_person(person, message, key, unknown_outcome)))
        if unreachable or not recipients:
            # Nobody to DM, or someone Slack does not know: the channel hears it, with names.
            channel, key = self._config.incidents_channel, f"{effect_key}/channel"
            refs.append(await self._to_channel(channel, message, key, unknown_outcome))
        return ",".join(refs)

    async def remind_follow_up(
        self,
        incident: Incident,
        follow_up: FollowUp,
        reminder: RemindFollowUp,
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        people = await self.people(follow_up.owner, *reminder.recipients)
        message = follow_up_reminder(incident, follow_up, reminder, people=people)
        return await self._to_each(
            reminder.recipients, people, message, effect_key, unknown_outcome
        )

    async def post_digest(
        self, digest: TeamDigest, *, effect_key: str, unknown_outcome: bool
    ) -> str:
        channel = self._config.incidents_channel
        return await self._to_channel(channel, team_digest(digest), effect_key, unknown_outcome)

    async def request_review(
        self,
        incident: Incident,
        postmortem: PostMortem,
        owner: Person | None,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        message = messages.review_request(
            incident, postmortem, owner, people=await self.people(owner)
        )
        channel = self._config.review_channel
        return await self._kept(channel, message, effect_key, unknown_outcome, earlier)

    async def report_unresolved_roles(
        self,
        incident: Incident,
        recipient: Person,
        roles: Sequence[str],
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        message = messages.unresolved_roles(incident, roles)
        return ref_text(await self._to_person(recipient, message, effect_key, unknown_outcome))

    async def flag_follow_up(
        self,
        incident: Incident,
        follow_up: FollowUp,
        recipient: Person | None,
        *,
        reason: str,
        allowed: Sequence[str],
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        message = messages.flagged_followup(incident, follow_up, reason=reason, allowed=allowed)
        if recipient is None:
            channel = self._config.incidents_channel
            return await self._to_channel(channel, message, effect_key, unknown_outcome)
        return ref_text(await self._to_person(recipient, message, effect_key, unknown_outcome))

    async def request_external_message(
        self, incident: Incident, recipient: Person, *, effect_key: str, unknown_outcome: bool
    ) -> str:
        message = external_message_request(incident, recipient, await self.people(recipient))
        return ref_text(await self._to_person(recipient, message, effect_key, unknown_outcome))

    async def share_outcome(
        self,
        incident: Incident,
        postmortem: PostMortem,
        owner: Person | None,
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        message = messages.outcome_summary(
            incident, postmortem, owner, people=await self.people(owner)
        )
        channel = self._config.incidents_channel
        return await self._to_channel(channel, message, effect_key, unknown_outcome)

    async def reply(self, response_url: str, answer: Answer) -> None:
        await self._chat.respond(response_url, await self._answer_message(answer))

    async def open_handoff(
        self, trigger_id: str, incident: Incident, owner: Person | None, context: HandoffContext
    ) -> bool:
        # The modal names the owner by the Slack id they already carry (or by name): no
        # user look-up may delay views.open inside the trigger's 3 seconds.
        return await self._chat.open_view(trigger_id, handoff_modal(incident, owner, context))

    async def offer_follow_ups(
        self,
        incident: Incident,
        postmortem: PostMortem,
        recipient: Person,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        message = follow_up_candidates(incident, postmortem)
        target = await self._target(recipient)
        return await self._kept(target, message, effect_key, unknown_outcome, earlier)

    async def open_follow_up_form(
        self,
        trigger_id: str,
        incident: Incident,
        candidate: CandidateFollowUp,
        context: FollowUpFormContext,
        priorities: Sequence[str],
    ) -> bool:
        modal = follow_up_modal(incident, candidate, context, priorities)
        return await self._chat.open_view(trigger_id, modal)

    async def _answer_message(self, answer: Answer) -> ChatMessage:
        if answer.kind is AnswerKind.HELP:
            return replies.help_reply(answer.text)
        if answer.kind is AnswerKind.REFUSED:
            return replies.refusal_reply(answer.action, answer.text, incident=answer.incident)
        if answer.kind is AnswerKind.STATUS and answer.incident is not None:
            return replies.status_reply(
                answer.incident,
                answer.postmortem,
                answer.owner,
                deadline=answer.deadline,
                people=await self.people(answer.owner),
            )
        subject = f" ({incident_link(answer.incident)})" if answer.incident else ""
        text = answer.text or "Done."
        return chat_message(text, (section(f":white_check_mark: {escape(text)}{subject}"),))


def external_message_request(incident: Incident, owner: Person, people: People) -> ChatMessage:
    """Seed 004: write the message customers will read; it is reviewed in the meeting."""
    name = incident_name(incident)
    body = (
        f"{mention(owner, people)}, {incident_link(incident)} needs an *external message* for "
        f"customers. {messages.EXTERNAL_MESSAGE_NOTES}"
    )
    blocks = (
        header(f"External message for {name}"),
        section(body),
        context(messages.external_message_reply(incident)),
    )
    return chat_message(f"{name} needs an external message for customers.", blocks)


def _designators(postmortem: PostMortem | None) -> list[Person]:
    designation = postmortem.designation if postmortem else None
    return [designation.by] if designation is not None and designation.by is not None else []
