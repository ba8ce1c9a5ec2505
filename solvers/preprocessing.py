"""Preprocessing of a data set with its training statistics, and the regime checks of the theorems.

The random-features results (Louart, Liao & Couillet 2018, Ann. Appl. Probab. 28(2), Assumption 1)
take samples of norm O(1): standardised features divided by √p. This module does that, using
the training rows only, so that test rows never influence the statistics they are judged with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solvers.exceptions import InvalidParameterError

#: A training feature whose standard deviation is below this (relative to its scale) is constant.
CONSTANT_RTOL = 1e-12
#: Median training-sample norms outside this range are reported as far from the O(1) regime.
NORM_RANGE = (0.2, 5.0)

REFERENCE = "Louart, Liao & Couillet (2018), Ann. Appl. Probab. 28(2), Assumption 1; docs/methods/random_features.md §0"


@dataclass(frozen=True)
class PreprocessedData:
    """Arrays after preprocessing, and what a user should know about them.

    Attributes
    ----------
    x, y, x_test, y_test
        Training and test arrays (rows are samples); ``x_test``/``y_test`` may be ``None``.
    constant_features
        Indices (in the uploaded columns) of the training features with zero variance, which were dropped.
    warnings
        Human-readable regime warnings.
    reference
        Where the conventions come from.
    """

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    constant_features: tuple[int, ...]
    warnings: tuple[str, ...]
    reference: str = REFERENCE


def preprocess(
    *,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    standardize: bool = False,
    scale: str = "none",
) -> PreprocessedData:
    """Standardise with the training statistics and/or scale by 1/√p; report regime warnings.

    Parameters
    ----------
    x, y, x_test, y_test
        Finite arrays: x is n × p, y has n rows, x_test is n̂ × p, y_test has n̂ rows.
    standardize
        Centre by the training mean and divide by the training standard deviation (ddof = 0).
        A constant training feature (standard deviation ≤ 1e-12 × its scale) carries no
        information and cannot be scaled: it is **dropped** from ``x`` and ``x_test``, so p counts
        only the remaining features (docs/methods/random_features.md §0).
    scale
        ``"none"`` or ``"sqrt_features"`` (divide by √p afterwards).

    Returns
    -------
    PreprocessedData
    """
    if scale not in ("none", "sqrt_features"):
        raise InvalidParameterError("preprocess.scale", f"`scale` must be `none` or `sqrt_features`, got {scale!r}.")
    for name, array in (("x", x), ("y", y), ("x_test", x_test), ("y_test", y_test)):
        if array is not None and not np.isfinite(array).all():
            raise InvalidParameterError(name, f"`{name}` must contain only finite numbers.")
    x = np.array(x, dtype=np.float64)
    x_test = None if x_test is None else np.array(x_test, dtype=np.float64)
    warnings: list[str] = []
    constant: tuple[int, ...] = ()
    if standardize:
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        scale_of = np.maximum(np.abs(mean), 1.0)
        is_constant = std <= CONSTANT_RTOL * scale_of
        constant = tuple(int(i) for i in np.flatnonzero(is_constant))
        if is_constant.all():
            raise InvalidParameterError(
                "x", "Every training feature is constant: nothing is left after standardisation."
            )
        keep = ~is_constant
        x = (x[:, keep] - mean[keep]) / std[keep]
        if x_test is not None:
            x_test = (x_test[:, keep] - mean[keep]) / std[keep]
        if constant:
            shown = ", ".join(map(str, constant[:10])) + (", ..." if len(constant) > 10 else "")
            warnings.append(
                f"{len(constant)} constant training feature(s) (columns {shown}) were dropped: they carry no information "
                f"and cannot be standardised; p = {x.shape[1]} features remain."
            )
    if scale == "sqrt_features":
        root = np.sqrt(x.shape[1])
        x = x / root
        if x_test is not None:
            x_test = x_test / root
    norm = float(np.median(np.linalg.norm(x, axis=1)))
    if not NORM_RANGE[0] <= norm <= NORM_RANGE[1]:
        warnings.append(
            f"The median training-sample norm is {norm:.3g}, far from O(1): the random-features theorems assume "
            'standardised features divided by √p (`preprocess: {"standardize": true, "scale": "sqrt_features"}`).'
        )
    return PreprocessedData(
        x=x,
        y=np.array(y, dtype=np.float64),
        x_test=x_test,
        y_test=None if y_test is None else np.array(y_test, dtype=np.float64),
        constant_features=constant,
        warnings=tuple(warnings),
    )
