"""Performers that change pmhub's own record of a post-mortem, not a vendor's.

They are effects all the same (timed, in the ledger, exactly once) because the plan
asks for them at a stated time or once something outside pmhub happened:

* CLOSE_NOT_NEEDED: nobody answered "keep it, or close it?" by the time the rule
  stated, and its default is to close: closed as not needed by pmhub, with the reason
  in the audit log (`PostMortemActions.close_not_needed`, idempotent by the effect key).
* FOLLOW_VENDOR_STATUS: incident.io says the post-mortem is complete (or in review):
  pmhub's lifecycle walks there through its guards. What holds it short (a guard only
  checked when it runs, such as the document's sections, or a change since the plan was
  made) is kept with incident.io's report: the plan then tells the owner, once.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.engine.actions import decisions
from hub.engine.actions.transitions import PostMortemActions
from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.model.intent import CloseNotNeeded, FollowVendorStatus, IntentKind
from hub.model.postmortem import PostMortem
from hub.policy.lifecycle import PMHUB


def _held(follow: FollowVendorStatus, held: tuple[str, ...]) -> Callable[[PostMortem], PostMortem]:
    def update(pm: PostMortem) -> PostMortem:
        reported = pm.vendor_status
        if reported is None or reported.at != follow.reported_at or reported.held == held:
            return pm  # a newer report since, or nothing new to keep
        return pm.model_copy(update={"vendor_status": reported.model_copy(update={"held": held})})

    return update


def lifecycle_performers(actions: PostMortemActions) -> dict[IntentKind, Performer]:
    async def close_not_needed(request: EffectRequest) -> EffectOutcome:
        payload_of(request.intent, CloseNotNeeded)
        result = await actions.close_not_needed(
            request.incident.id, PMHUB, request.intent.reason, origin=request.intent.key
        )
        detail = {"closed": result.allowed, "message": result.message}
        return EffectOutcome(vendor_ref=None, detail=detail)

    async def follow_vendor_status(request: EffectRequest) -> EffectOutcome:
        follow = payload_of(request.intent, FollowVendorStatus)
        origin = f"{request.intent.key}:{follow.from_status}"
        result, held = await decisions.follow_vendor_status(
            actions, request.incident.id, follow.status, origin=origin
        )
        detail: dict[str, object] = {"message": result.message, "held": list(held)}
        # What held it here (a guard only checked now, such as the document's sections)
        # is kept with incident.io's report, so the plan tells the owner, once.
        return EffectOutcome(vendor_ref=None, detail=detail, update=_held(follow, held))

    return {
        IntentKind.CLOSE_NOT_NEEDED: close_not_needed,
        IntentKind.FOLLOW_VENDOR_STATUS: follow_vendor_status,
    }
