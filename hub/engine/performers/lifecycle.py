"""Performers that change pmhub's own record of a post-mortem, not a vendor's.

They are effects all the same (timed, in the ledger, exactly once) because the plan
asks for them at a stated time or once something outside pmhub happened:

* CLOSE_NOT_NEEDED: nobody answered "keep it, or close it?" by the time the rule
  stated, and its default is to close: closed as not needed by pmhub, with the reason
  in the audit log (`PostMortemActions.close_not_needed`, idempotent by the effect key).
* FOLLOW_VENDOR_STATUS: incident.io says the post-mortem is complete (or in review):
  pmhub's lifecycle walks there through its guards. If a guard holds it now (something
  changed since the plan was made), the job is retried rather than recorded: the plan
  then says what holds it, and the walk runs when nothing does.
"""

from __future__ import annotations

from hub.engine.actions import decisions
from hub.engine.actions.transitions import PostMortemActions
from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.errors import Transient
from hub.model.intent import CloseNotNeeded, FollowVendorStatus, IntentKind
from hub.policy.lifecycle import PMHUB


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
        result = await decisions.follow_vendor_status(
            actions, request.incident.id, follow.status, origin=origin
        )
        if not result.allowed:
            # Held since the plan was made: not done. The next plan says what holds it.
            raise Transient(f"cannot follow {follow.source} yet: {result.message}")
        return EffectOutcome(vendor_ref=None, detail={"message": result.message})

    return {
        IntentKind.CLOSE_NOT_NEEDED: close_not_needed,
        IntentKind.FOLLOW_VENDOR_STATUS: follow_vendor_status,
    }
