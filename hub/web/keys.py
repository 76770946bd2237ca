"""Typed application keys for the resources the handlers share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from hub.runtime import Runtime

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")
