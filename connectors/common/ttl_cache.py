"""A small bounded cache whose entries expire: vendor look-ups that change rarely, not never."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Least-recently-used beyond `max_entries`; each entry lives `ttl` seconds (or its own)."""

    def __init__(
        self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def lookup(self, key: str) -> tuple[bool, V | None]:
        """(found, value): a cached None is a hit, unlike a missing key."""
        hit = self._items.get(key)
        if hit is None:
            return False, None
        expires, value = hit
        if self._clock() >= expires:
            del self._items[key]
            return False, None
        self._items.move_to_end(key)
        return True, value

    def put(self, key: str, value: V, *, ttl: float | None = None) -> None:
        lifetime = self._ttl if ttl is None else ttl
        if lifetime <= 0:
            return
        self._items[key] = (self._clock() + lifetime, value)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    @property
    def size(self) -> int:
        # Not `__len__`: an empty cache must stay truthy for `cache or TtlCache(...)`.
        return len(self._items)
