"""Input validation shared by the solvers (scipy's ``_iv`` style).

Every check names the parameter in backticks so that the message reaches the client
unchanged. Validation runs before any computation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from solvers.exceptions import InvalidParameterError


def finite_scalar(name: str, value: float) -> float:
    """Return ``value`` as a float, refusing NaN and infinities."""
    value = float(value)
    if not math.isfinite(value):
        raise InvalidParameterError(name, f"`{name}` must be finite, got {value!r}.")
    return value


def positive(name: str, value: float) -> float:
    """A finite, strictly positive float."""
    value = finite_scalar(name, value)
    if value <= 0:
        raise InvalidParameterError(name, f"`{name}` must be > 0, got {value!r}.")
    return value


def non_negative(name: str, value: float) -> float:
    """A finite float ``>= 0``."""
    value = finite_scalar(name, value)
    if value < 0:
        raise InvalidParameterError(name, f"`{name}` must be >= 0, got {value!r}.")
    return value


#: Lists up to this long are checked by their sum in Python (one C loop, ~15 ns an entry) rather than by
#: numpy's ``isfinite`` and ``count_nonzero``, whose fixed cost (~0.7 µs in a loop, several times that
#: inside a served request) dominates the few points of a typical request.
_SHORT = 64


def finite_array(name: str, values: Sequence[float] | np.ndarray, *, ndim: int = 1) -> np.ndarray:
    """A float64 array of the given dimension with only finite entries."""
    if ndim == 1 and type(values) is list and len(values) <= _SHORT:
        try:
            # A NaN or an infinity makes the sum NaN or infinite; finite values whose sum overflows, and
            # anything but real numbers, take the general path.
            if math.isfinite(sum(values)):
                return np.array(values, dtype=np.float64)
        except (TypeError, OverflowError):
            pass
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim:
        raise InvalidParameterError(name, f"`{name}` must be {ndim}-dimensional, got shape {array.shape}.")
    # (count_nonzero is one C call; .all() goes through a Python wrapper, np.all through a dispatch too:
    # this runs on every request)
    if np.count_nonzero(np.isfinite(array)) != array.size:
        raise InvalidParameterError(name, f"`{name}` must contain only finite values.")
    return array


def positive_int(name: str, value: int) -> int:
    """A strictly positive integer (NaN and infinities are refused like any non-integer)."""
    if not math.isfinite(value) or int(value) != value or value < 1:
        raise InvalidParameterError(name, f"`{name}` must be a positive integer, got {value!r}.")
    return int(value)


def rng_from(rng: np.random.Generator | int | np.random.SeedSequence | None) -> np.random.Generator:
    """SPEC 7: accept a Generator, a seed or a SeedSequence; never touch global state."""
    return np.random.default_rng(rng)
