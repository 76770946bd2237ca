"""Typed application keys for the resources the handlers share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from hub.intake.frontdoor import FrontDoor
    from hub.metrics import Metrics
    from hub.runtime import Runtime

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
FRONT_DOOR: web.AppKey[FrontDoor] = web.AppKey("front_door")
