"""The weekly digest per team (issue 15): a `digest` job per team, once a week.

    digest:  {day: mon, time: "09:00", timezone: America/New_York}   # pmhub.yaml

Each team of `pmhub.yaml`'s `teams:` (unless `digest: false`) gets, at that time, one
message in its Slack channel (its `targets.slack.channel`, else the incidents
channel) and, when an email connector is configured and the team names stakeholders
(`targets.email.stakeholders`), one email: the post-mortems still open and their
status, the post-mortem meetings of the week, the follow-ups overdue by owner.

Timers are jobs: the digest job of a team is enqueued for its next time at start
(deduplicated per team and week, so replicas do not multiply it); each run first
enqueues the next week's, then speaks, so a failure this week never loses the next.
Exactly once: each message has a ledger row keyed by team and week
(`digest:<team>:<week's Monday>`, `…:mail`), written before the vendor call; a run
that finds it done says nothing, one that finds it pending tells the connector the
earlier attempt's outcome is unknown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.engine.process import ProcessRecord, process_records
from hub.errors import Permanent
from hub.jobs.kinds import DIGEST, digest_key
from hub.jobs.queue import Job, JobQueue, enqueue_job
from hub.model.digest import DigestFollowUp, DigestPostMortem, TeamDigest
from hub.model.postmortem import PostMortemStatus
from hub.policy import PolicySet, evaluate
from hub.policy.calendar import instant
from hub.policy.teams import TeamSpec
from hub.ports import Mailer, MailMessage, Notifier
from hub.store.db import transaction
from hub.store.effects import EffectState, begin_effect, complete_effect, restart_effect

log = structlog.get_logger("pmhub.digest")
OPEN = (PostMortemStatus.DRAFT, PostMortemStatus.IN_REVIEW, PostMortemStatus.REVIEWED)


@dataclass(frozen=True)
class DigestSchedule:
    weekday: int  # Monday is 0
    at: time
    timezone: ZoneInfo

    def next_after(self, moment: datetime) -> datetime:
        """The first digest time strictly after `moment`."""
        local = moment.astimezone(self.timezone)
        day = local.date() + timedelta(days=(self.weekday - local.weekday()) % 7)
        candidate = datetime.combine(day, self.at, self.timezone)
        if instant(candidate) <= instant(moment):
            candidate = datetime.combine(day + timedelta(days=7), self.at, self.timezone)
        return candidate

    def week_of(self, moment: datetime) -> tuple[date, date]:
        """The Monday-to-Sunday week `moment` falls in, in the digest's zone."""
        local = moment.astimezone(self.timezone).date()
        start = local - timedelta(days=local.weekday())
        return start, start + timedelta(days=7)


def build_digest(
    records: Sequence[ProcessRecord],
    team: str,
    week: tuple[date, date],
    schedule: DigestSchedule,
    policies: PolicySet,
) -> TeamDigest:
    """The team's digest for `week`, from the process records (pure)."""
    mine = [r for r in records if r.team == team]
    open_ones = [_post_mortem(r, policies) for r in mine if r.status in OPEN]
    meetings = [
        _post_mortem(r, policies)
        for r in mine
        if r.postmortem.meeting is not None
        and week[0] <= r.postmortem.meeting.start.astimezone(schedule.timezone).date() < week[1]
    ]
    overdue = [
        DigestFollowUp(
            reference=_reference(r),
            summary=f.item.summary,
            priority=f.item.priority,
            tracker_key=f.item.tracker_key,
            due_on=f.due,
            owner=f.item.owner,
        )
        for r in mine
        for f in r.follow_ups
        if f.standing.value == "overdue" and f.due is not None
    ]
    return TeamDigest(
        team=team,
        week_start=week[0],
        week_end=week[1],
        timezone=schedule.timezone.key,
        open_postmortems=tuple(sorted(open_ones, key=lambda p: p.reference)),
        meetings=tuple(sorted(meetings, key=lambda p: p.meeting_start or datetime.min)),
        overdue_follow_ups=tuple(overdue),
    )


def _reference(record: ProcessRecord) -> str:
    return record.incident.reference or record.incident.id


def _post_mortem(record: ProcessRecord, policies: PolicySet) -> DigestPostMortem:
    plan = evaluate(record.incident, record.postmortem, policies, record.now)
    meeting = record.postmortem.meeting
    return DigestPostMortem(
        reference=_reference(record),
        title=record.incident.title,
        severity=record.severity,
        status=record.status,
        owner=plan.owner.person if plan.owner else None,
        meeting_start=meeting.start if meeting else None,
        deadline=record.postmortem.milestones.meeting_deadline,
        overdue=record.overdue,
    )


def digest_text(digest: TeamDigest) -> str:
    """The digest as plain text: the email's body."""
    lines = [f"Post-mortems of team {digest.team}, week of {digest.week_start:%a %d %b %Y}", ""]
    lines.append(f"Open post-mortems ({len(digest.open_postmortems)}):")
    for pm in digest.open_postmortems:
        owner = f", owner {pm.owner.display}" if pm.owner else ", no owner"
        late = " - OVERDUE" if pm.overdue else ""
        lines.append(
            f"  - {pm.reference} {pm.title} ({pm.severity}): {pm.status.label}{owner}{late}"
        )
    lines += ["", f"Meetings this week ({len(digest.meetings)}):"]
    for pm in digest.meetings:
        start = pm.meeting_start.astimezone(ZoneInfo(digest.timezone)) if pm.meeting_start else None
        when = f"{start:%a %d %b %H:%M} ({digest.timezone})" if start else "?"
        lines.append(f"  - {when}: {pm.reference} {pm.title}")
    lines += ["", f"Follow-ups overdue ({len(digest.overdue_follow_ups)}):"]
    for owner, items in digest.overdue_by_owner():
        lines.append(f"  {owner}:")
        for item in items:
            ticket = f"{item.tracker_key}, " if item.tracker_key else ""
            lines.append(
                f"    - {item.summary} ({ticket}{item.priority}, due {item.due_on:%d %b}, "
                f"{item.reference})"
            )
    return "\n".join(lines) + "\n"


class DigestRunner:
    """The `digest` job handler, and the scheduling of the next digests."""

    def __init__(
        self,
        engine: AsyncEngine,
        queue: JobQueue,
        policies: PolicySet,
        schedule: DigestSchedule,
        *,
        notifier: Notifier | None,
        mailer: Mailer | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine, self.queue, self.policies, self.schedule = engine, queue, policies, schedule
        self._notifier, self._mailer, self._clock = notifier, mailer, clock

    @property
    def teams(self) -> Mapping[str, TeamSpec]:
        return {name: team for name, team in self.policies.teams.items() if team.digest}

    async def schedule_all(self) -> None:
        """Each team's next digest, as a timer job (one pending per team, whatever the
        number of replicas starting)."""
        now = self._clock()
        async with transaction(self.engine) as conn:
            for team in self.teams:
                await self._enqueue(conn, team, self.schedule.next_after(now), now)

    async def __call__(self, job: Job) -> None:
        team = job.payload.get("team")
        if not isinstance(team, str):
            raise Permanent(f"digest job without a team: {job.payload!r}")
        if team not in self.teams:
            log.info("digest.team_gone", team=team)  # removed from pmhub.yaml since
            return
        now = self._clock()
        async with transaction(self.engine) as conn:
            await self._enqueue(conn, team, self.schedule.next_after(max(now, job.run_at)), now)
        week = self.schedule.week_of(job.run_at)
        if isinstance(written := job.payload.get("week"), str):  # retried late: still its week
            start = date.fromisoformat(written)
            week = (start, start + timedelta(days=7))
        with structlog.contextvars.bound_contextvars(team=team):
            await self._send(team, week)

    async def _send(self, team: str, week: tuple[date, date]) -> None:
        now = self._clock()
        records = await process_records(self.engine, self.policies, now)
        digest = build_digest(records, team, week, self.schedule, self.policies)
        key = f"digest:{team}:{week[0].isoformat()}"
        targets = self.policies.teams[team].targets
        said = False
        if self._notifier is not None:
            channel = targets.slack.channel if targets.slack else None
            notifier = self._notifier.routed(channel=channel) if channel else self._notifier

            async def post(unknown: bool) -> str:
                return await notifier.post_digest(digest, effect_key=key, unknown_outcome=unknown)

            said = await self._once(key, post)
        stakeholders = targets.email.stakeholders if targets.email else []
        if self._mailer is not None and stakeholders:
            mailer = self._mailer
            message = MailMessage(
                key=f"{key}:mail",
                to=tuple(stakeholders),
                subject=f"Post-mortems of {team}: week of {week[0]:%d %b %Y}",
                text=digest_text(digest),
            )

            async def send(unknown: bool) -> str:
                return (await mailer.send(message)).message_id

            said = await self._once(message.key, send) or said
        log.info(
            "digest.sent" if said else "digest.already_sent",
            open=len(digest.open_postmortems),
            meetings=len(digest.meetings),
            overdue=len(digest.overdue_follow_ups),
        )

    async def _once(self, key: str, act: Callable[[bool], Awaitable[str]]) -> bool:
        """Do `act` unless the ledger shows it done; whether it was done now."""
        now = self._clock()
        started = await begin_effect(self.engine, key, DIGEST, key, now=now)
        if started.row.state is EffectState.DONE:
            return False
        if started.row.state is not EffectState.PENDING:
            await restart_effect(self.engine, key, key, now=now)
        ref = await act(started.earlier_attempt_unfinished)
        await complete_effect(self.engine, key, ref, now=self._clock())
        return True

    async def _enqueue(self, conn: AsyncConnection, team: str, at: datetime, now: datetime) -> None:
        week = self.schedule.week_of(at)[0].isoformat()
        payload = {"team": team, "week": week}
        key = digest_key(team, week)
        await enqueue_job(conn, DIGEST, payload, dedupe_key=key, run_at=at, now=now)
