"""The `ingest` job: one stored delivery → canonical facts → the merged incident.

Webhooks carry ids, not people; the adapters turn a delivery into facts and this
job completes them from the vendor's REST API (PagerDuty: users' emails and the primary
on-call on every delivery, the incident and its log when the delivery needs them, see
`pagerduty_enrichment`; incident.io: the whole incident, re-fetched because its
deliveries are unordered). The facts
are merged into the stored record under a row lock; when anything changed, one
`reconcile` job per incident is enqueued in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import Permanent
from hub.intake.adapters import AdapterOptions, parse_delivery
from hub.intake.adapters import incidentio as incidentio_adapter
from hub.intake.adapters.base import Ignored, RefetchRequest
from hub.intake.inbox import StoredDelivery, get_deliveries, mark_all_processed
from hub.intake.merge import merge
from hub.intake.pagerduty_enrichment import PagerDutyEnrichment, ReadMark
from hub.intake.reads import (
    CHECKPOINT_KEY,
    Reads,
    from_payload,
    gathering,
    optional_read,
    read,
)
from hub.jobs.kinds import RECONCILE, reconcile_key
from hub.jobs.queue import Job, JobQueue, enqueue_jobs
from hub.model.command import Command
from hub.model.followup_event import FollowUpFact
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentRecord, IncidentUpdate
from hub.model.vendor_status import VendorStatusFact
from hub.ports import IncidentIoApi, PagerDutyApi
from hub.store.audit import AuditEntry, record
from hub.store.db import transaction
from hub.store.state import lock_incidents, save_incidents

log = structlog.get_logger("pmhub.ingest")
T = TypeVar("T")


@dataclass(frozen=True)
class Sources:
    """The vendor APIs ingest may call; None where the source has no API credentials."""

    pagerduty: PagerDutyApi | None = None
    incidentio: IncidentIoApi | None = None


@dataclass(frozen=True)
class Facts:
    """What one delivery said, completed from the vendors' APIs."""

    updates: tuple[IncidentUpdate, ...]
    follow_ups: tuple[FollowUpFact, ...]
    commands: tuple[Command, ...]
    ignored: tuple[Ignored, ...]
    statuses: tuple[VendorStatusFact, ...] = ()  # incident.io's post-mortem status
    # PagerDuty incidents read from the REST API: remembered once the facts are merged.
    read_marks: tuple[ReadMark, ...] = ()


class FactGatherer:
    """A delivery's body → its facts, enriched through the source APIs that are configured.

    Shared by the `ingest` job and `pmhub simulate --enrich`, so a dry run sees what
    the daemon would.
    """

    def __init__(
        self,
        sources: Sources,
        options: AdapterOptions,
        clock: Callable[[], datetime],
        *,
        read_every_delivery: bool = False,
    ) -> None:
        """`read_every_delivery`: PagerDuty's incident and log on every delivery (a dry
        run, which has no earlier delivery to rely on), not only where needed."""
        self.sources, self.options, self._clock = sources, options, clock
        self._refetch_warned: set[tuple[str, str]] = set()
        self._pagerduty = (
            PagerDutyEnrichment(sources.pagerduty, options, clock, always=read_every_delivery)
            if sources.pagerduty is not None
            else None
        )

    def remember(self, facts: Facts) -> None:
        """The facts are merged: later deliveries they cover need not read again."""
        if self._pagerduty is not None and facts.read_marks:
            self._pagerduty.remember(facts.read_marks)

    async def gather(self, source: str, body: bytes, reads: Reads | None = None) -> Facts:
        """The delivery's facts. `reads` keeps the vendor reads that succeeded, so a retry
        of the job, handing them back, repeats only the ones that failed."""
        async with gathering(reads if reads is not None else Reads()):
            return await self._gather(source, body)

    async def _gather(self, source: str, body: bytes) -> Facts:
        updates: list[IncidentUpdate] = []
        follow_ups: list[FollowUpFact] = []
        commands: list[Command] = []
        ignored: list[Ignored] = []
        statuses: list[VendorStatusFact] = []
        marks: list[ReadMark] = []
        for result in parse_delivery(source, body, self.options):
            if isinstance(result, IncidentUpdate):
                updates.append(result)
                if result.source is Source.PAGERDUTY and self._pagerduty is not None:
                    enriched = await self._pagerduty.enrich(result)
                    updates += enriched.updates
                    marks += [enriched.mark] if enriched.mark is not None else []
            elif isinstance(result, RefetchRequest) and result.resource == "postmortem_document":
                statuses += await self._document_status(result)
            elif isinstance(result, RefetchRequest):
                updates += await self._refetch(result)
            elif isinstance(result, VendorStatusFact):
                statuses.append(result)
            elif isinstance(result, FollowUpFact):
                follow_ups.append(result)
            elif isinstance(result, Command):
                commands.append(result)
            else:
                ignored.append(result)
        # incident.io: whatever the delivery said, the API's current incident is the truth.
        wanted = {u.source_id for u in updates if u.source is Source.INCIDENTIO}
        wanted |= {s.incident_id.partition(":")[2] for s in statuses}
        for incident_source_id in sorted(wanted):
            request = RefetchRequest(Source.INCIDENTIO, "incident", incident_source_id)
            updates += await self._refetch(request)
        updates += await self._incidentio_people(updates)
        return Facts(
            tuple(updates),
            tuple(follow_ups),
            tuple(commands),
            tuple(ignored),
            tuple(statuses),
            tuple(marks),
        )

    async def _document_status(self, request: RefetchRequest) -> list[VendorStatusFact]:
        """A private incident's post-mortem document, named by id only: read its status."""
        api = self.sources.incidentio
        if api is None:
            self._warn_cannot_refetch(request)
            return []
        document = await read(
            f"incidentio:document:{request.id}", lambda: api.get_postmortem_document(request.id)
        )
        fact = incidentio_adapter.document_status({"postmortem_document": document})
        return [fact] if fact is not None else []

    async def _incidentio_people(self, updates: Sequence[IncidentUpdate]) -> list[IncidentUpdate]:
        """Emails of incident.io people named by id only (a membership names a user id).

        An optional enrichment: a person incident.io cannot show (deleted, or the API
        failing) stays known by id and is still a responder; the delivery goes on.
        """
        api = self.sources.incidentio
        if api is None:
            return []
        found: list[IncidentUpdate] = []
        seen: set[str] = set()
        for update in updates:
            if update.source is not Source.INCIDENTIO:
                continue
            for member in update.members.get("responders", ()):
                user_id = member.person.incidentio_id
                if member.person.email or not user_id or user_id in seen:
                    continue
                seen.add(user_id)
                user = await optional_read(
                    f"incidentio:user:{user_id}", partial(api.get_user, user_id), "user"
                )
                if user is None:
                    continue
                person = incidentio_adapter.person(user)
                if person is not None:
                    found.append(_people_update(update.source_id, person, self._clock()))
        return found

    async def _refetch(self, request: RefetchRequest) -> list[IncidentUpdate]:
        options, api = self.options, self.sources.incidentio
        if request.resource != "incident" or api is None:
            self._warn_cannot_refetch(request)
            return []
        incident = await read(
            f"incidentio:incident:{request.id}", lambda: api.get_incident(request.id)
        )
        update = incidentio_adapter.incident_update(
            incident, options.severity_map, options.incidentio, event_type=request.event_type
        )
        return [update] if update is not None else []

    def _warn_cannot_refetch(self, request: RefetchRequest) -> None:
        key = (request.source.value, request.resource)
        if key not in self._refetch_warned:
            self._refetch_warned.add(key)
            log.warning(
                "ingest.cannot_refetch",
                resource=request.resource,
                reason="no API credentials for this source"
                if self.sources.incidentio is None
                else f"{request.resource} re-fetch not supported",
            )


def _people_update(source_id: str, person: Person, at: datetime) -> IncidentUpdate:
    """A user look-up's identities, for the incident's directory of people."""
    return IncidentUpdate.of(Source.INCIDENTIO, source_id, at, members={"people": [(person, at)]})


class Ingestor:
    """The `ingest` job handler, for one delivery or a batch of them (`run_batch`).

    A batch is how the worker drains a storm: the deliveries are read in one query,
    their facts gathered side by side, and everything merged in ONE transaction that
    also marks them processed, instead of a handful of transactions per delivery.
    Merging is order-independent (newer facts win by vendor timestamp), so a batch
    ends where the same deliveries one by one would.
    """

    batch_size = 32  # deliveries per batch; each is still its own job (retried alone)

    def __init__(
        self,
        engine: AsyncEngine,
        queue: JobQueue,
        gatherer: FactGatherer,
        *,
        clock: Callable[[], datetime],
        on_command: Callable[[Command, str], Awaitable[None]] | None = None,
        on_follow_up: Callable[[FollowUpFact, str], Awaitable[None]] | None = None,
        on_vendor_status: Callable[[VendorStatusFact, str], Awaitable[None]] | None = None,
        gather_concurrency: int = 4,
    ) -> None:
        self.engine, self.queue, self.gatherer, self._clock = engine, queue, gatherer, clock
        # What people decide (Slack) and what trackers report (incident.io, Jira) is
        # carried out by the engine; the wiring hands those in. Without them the
        # facts are kept in the audit log, so nothing said is lost. The second argument
        # is the delivery's stable key ("slack/commands:<id>"): a retried ingest job
        # hands the same key again, so what it starts can be made idempotent.
        self._on_command, self._on_follow_up = on_command, on_follow_up
        self._on_vendor_status = on_vendor_status
        self._ignored_seen: set[tuple[str, str | None]] = set()
        # Vendor look-ups of one batch at a time, like jobs run side by side.
        self._gather_concurrency = gather_concurrency

    async def __call__(self, job: Job) -> None:
        [error] = await self.run_batch([job])
        if error is not None:
            raise error

    async def run_batch(self, jobs: Sequence[Job]) -> list[Exception | None]:
        """Ingest the jobs' deliveries; per job, in order: None, or what stopped it.

        A job's error concerns that job alone (the worker retries or dead-letters it);
        the deliveries that got through are merged and marked processed together.
        """
        errors: dict[int, Exception] = {}
        ready = await self._deliveries(jobs, errors)
        applied: list[tuple[StoredDelivery, Facts]] = []
        for (job, delivery), gathered in zip(ready, await self._gather_all(ready), strict=True):
            outcome = gathered
            if isinstance(gathered, Facts):
                with structlog.contextvars.bound_contextvars(
                    delivery_id=delivery.delivery_id, source=delivery.source
                ):
                    outcome = await self._hand_over(delivery, gathered)
            if isinstance(outcome, Exception):
                errors[job.id] = outcome
            else:
                applied.append((delivery, outcome))
        try:
            changed = await self._merge(applied)
        except Exception as exc:  # noqa: BLE001 - the store failed: each job is retried
            return [errors.get(job.id, exc) for job in jobs]
        for _, facts in applied:
            self.gatherer.remember(facts)
        for delivery, facts in applied:
            touched = {f"{u.source.value}:{u.source_id}" for u in facts.updates}
            log.info(
                "ingest.done",
                delivery_id=delivery.delivery_id,
                source=delivery.source,
                event_type=delivery.event_type,
                updates=len(facts.updates),
                changed=sorted(changed & touched),
            )
        if changed:
            self.queue.wake()
        return [errors.get(job.id) for job in jobs]

    async def _deliveries(
        self, jobs: Sequence[Job], errors: dict[int, Exception]
    ) -> list[tuple[Job, StoredDelivery]]:
        """The stored delivery of each job, read in one query; bad jobs go to `errors`."""
        wanted: dict[int, int] = {}
        for job in jobs:
            inbox_id = job.payload.get("inbox_id")
            if isinstance(inbox_id, int):
                wanted[job.id] = inbox_id
            else:
                errors[job.id] = Permanent(
                    f"ingest job without an integer inbox_id: {job.payload!r}"
                )
        stored = await get_deliveries(self.engine, list(wanted.values()))
        ready: list[tuple[Job, StoredDelivery]] = []
        for job in jobs:
            if (inbox_id := wanted.get(job.id)) is None:
                continue
            if (delivery := stored.get(inbox_id)) is None:
                errors[job.id] = Permanent(f"inbox row {inbox_id} does not exist")
            else:
                ready.append((job, delivery))
        return ready

    async def _gather_all(
        self, ready: Sequence[tuple[Job, StoredDelivery]]
    ) -> list[Facts | Exception]:
        limit = asyncio.Semaphore(self._gather_concurrency)

        async def one(job: Job, delivery: StoredDelivery) -> Facts | Exception:
            async with limit:
                # Parsing is CPU work that may never await: give the webhooks waiting on
                # the event loop their turn between deliveries.
                await asyncio.sleep(0)
                with structlog.contextvars.bound_contextvars(
                    delivery_id=delivery.delivery_id, source=delivery.source
                ):
                    reads = from_payload(job.payload)
                    try:
                        return await self.gatherer.gather(delivery.source, delivery.body, reads)
                    except Exception as exc:  # noqa: BLE001 - this delivery's job fails alone
                        await self._keep_reads(job, reads)
                        return exc

        if len(ready) == 1:
            return [await one(*ready[0])]
        return list(await asyncio.gather(*(one(job, delivery) for job, delivery in ready)))

    async def _keep_reads(self, job: Job, reads: Reads) -> None:
        """The reads that succeeded before the failure, for the job's retry to start from."""
        if not reads.new:
            return
        try:
            await self.queue.checkpoint(job, {CHECKPOINT_KEY: reads.kept})
        except Exception:
            log.warning("ingest.checkpoint_failed", exc_info=True)

    async def _hand_over(self, delivery: StoredDelivery, facts: Facts) -> Facts | Exception:
        """Follow-ups and commands to the engine, in delivery order; ignored events logged."""
        origin = f"{delivery.source}:{delivery.delivery_id}"
        try:
            for follow_up in facts.follow_ups:
                await (self._on_follow_up or self._audit_fact)(follow_up, origin)
            for command in facts.commands:
                await (self._on_command or self._audit_command)(command, origin)
            for status in facts.statuses:
                await (self._on_vendor_status or self._audit_status)(status, origin)
        except Exception as exc:  # noqa: BLE001 - this delivery's job fails alone
            return exc
        for ignored in facts.ignored:
            self._log_ignored(delivery, ignored)
        return facts

    async def _merge(self, applied: Sequence[tuple[StoredDelivery, Facts]]) -> set[str]:
        """Merge every update into its incident and mark the deliveries processed, atomically.

        A handful of statements whatever the batch: the incidents read (and locked) in
        one, saved in one, their reconcile jobs enqueued in one or two. This transaction
        holds SQLite's single write lock, which the webhook front door waits for.
        """
        if not applied:
            return set()
        by_incident: dict[tuple[str, str], list[IncidentUpdate]] = defaultdict(list)
        for _, facts in applied:
            for update in facts.updates:
                by_incident[(update.source.value, update.source_id)].append(update)
        now = self._clock()
        async with transaction(self.engine) as conn:
            stored = await lock_incidents(conn, list(by_incident), now=now)
            changed: list[IncidentRecord] = []
            for (source, source_id), group in sorted(by_incident.items()):
                merged = stored[f"{source}:{source_id}"]
                dirty = merged is None
                for update in group:
                    result = merge(merged, update)
                    merged, dirty = result.record, dirty or result.changed
                if merged is not None and dirty:
                    changed.append(merged)
            await save_incidents(conn, changed, now=now)
            reconciles = [
                (RECONCILE, {"incident_id": record.id}, reconcile_key(record.id))
                for record in changed
            ]
            await enqueue_jobs(conn, reconciles, now=now, move_earlier=True)
            await mark_all_processed(conn, [delivery.id for delivery, _ in applied], now=now)
        return {record.id for record in changed}

    async def _audit_fact(self, fact: FollowUpFact, origin: str) -> None:
        # Follow-up bookkeeping arrives with the tracker connectors; until then the
        # fact is kept in the audit log so nothing a tracker said is lost.
        await record(
            self.engine,
            AuditEntry(
                subject=fact.incident_id or f"{fact.source}:{fact.external_id}",
                action="follow_up_reported",
                actor=fact.source,
                reason=f"{fact.source} reports follow-up {fact.external_id} {fact.status.value}",
                detail={"origin": origin, **fact.model_dump(mode="json")},
            ),
            now=self._clock(),
        )

    async def _audit_status(self, status: VendorStatusFact, origin: str) -> None:
        await record(
            self.engine,
            AuditEntry(
                subject=status.incident_id,
                action="vendor_status_reported",
                actor=status.source,
                reason=f"{status.source} reports the post-mortem {status.status.value}",
                detail={"origin": origin, **status.model_dump(mode="json")},
            ),
            now=self._clock(),
        )

    async def _audit_command(self, command: Command, origin: str) -> None:
        await record(
            self.engine,
            AuditEntry(
                subject=command.incident_ref or "slack",
                action="command_received",
                actor=command.actor.key,
                reason=f"/postmortem {command.verb.value}",
                detail={"origin": origin, **command.model_dump(mode="json")},
            ),
            now=self._clock(),
        )

    def _log_ignored(self, delivery: StoredDelivery, ignored: Ignored) -> None:
        """Once per (source, event type) per process: a storm of one type is one line."""
        key = (delivery.source, ignored.event_type)
        if key not in self._ignored_seen:
            self._ignored_seen.add(key)
            log.info("ingest.ignored", event_type=ignored.event_type, reason=ignored.reason)
