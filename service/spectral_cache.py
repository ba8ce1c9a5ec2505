"""A byte-bounded LRU cache of random-features spectral decompositions, per (data set, activation).

The expensive part of a random-features prediction is the n × n kernel and its eigendecomposition
(O(n³)); everything after is O(n) per (N, γ) point. For a stored data set both depend only on the
data set's id (its content hash) and the activation, so they are computed once and shared by every
later request, of any key that may use the data set: an AutoML search then pays one
eigendecomposition, not one per trial (`RMT_SPECTRAL_CACHE_BYTES`).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def nbytes(value: Any) -> int:
    """Bytes held by the numpy arrays of a (possibly nested) dataclass or tuple."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if is_dataclass(value):
        return sum(nbytes(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    return 0


class SpectralCache:
    """LRU by bytes; a value larger than the whole budget is computed and returned but never kept.

    Concurrent requests for the same key wait for one computation instead of repeating it.
    """

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, asyncio.Lock] = {}
        self.hits = 0
        self.misses = 0

    @property
    def size_bytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        size = nbytes(value)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    def discard(self, predicate: Callable[[Hashable], bool]) -> None:
        """Drop every entry whose key matches (e.g. the entries of a deleted data set)."""
        with self._lock:
            for key in [k for k in self._items if predicate(k)]:
                self._bytes -= self._items.pop(key)[1]

    async def get_or_compute(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """The cached value of ``key``, or ``await compute()`` once (concurrent callers share it)."""
        value = self.get(key)
        if value is not None:
            self.hits += 1
            return value
        lock = self._inflight.setdefault(key, asyncio.Lock())
        async with lock:
            value = self.get(key)
            if value is not None:
                self.hits += 1
                return value
            self.misses += 1
            value = await compute()
            self.put(key, value)
        self._inflight.pop(key, None)
        return value
