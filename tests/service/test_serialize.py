"""`service.serialize`: solver values to JSON values, non-finite numbers to null."""

from __future__ import annotations

import math

import numpy as np
import pytest

from service.serialize import floats


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([1.0, np.nan, -2.5]), [1.0, None, -2.5]),
        (np.array([np.inf, -np.inf, 0.0]), [None, None, 0.0]),
        # finite values whose sum overflows: each is kept (the fast check's sum is not finite, the
        # element-wise check then keeps them)
        (np.array([1e308, 1e308, -0.0]), [1e308, 1e308, -0.0]),
        (np.array([], dtype=np.float64), []),
        ([1, 2], [1.0, 2.0]),  # not an array, ints: converted
        (np.array([[1.0, np.nan], [3.0, 4.0]]), [1.0, None, 3.0, 4.0]),  # flattened
        (np.array([0.5, 1.5], dtype=np.float32), [0.5, 1.5]),
    ],
)
def test_floats_are_json_numbers_with_null_for_non_finite_values(values, expected):
    result = floats(values)
    assert result == expected
    assert all(v is None or (type(v) is float and math.isfinite(v)) for v in result)
    assert [math.copysign(1.0, v) for v in result if v is not None] == [
        math.copysign(1.0, v) for v in expected if v is not None
    ]
